import { Client, ErrorCode, type Room } from "@colyseus/sdk";
import { CloseCode, REFUSAL_WORDS, RejectionCode } from "@loom/shared";
import type {
  API,
  ApiResponse,
  Bookmark,
  ApiRouteName,
  CharacterSheetInput,
  Delta,
  UniverseVisibility,
  CharacterLimits,
  JoinRole,
  SavePointRecord,
  SnapshotInfo,
  Snapshot,
  TimelineQuery,
} from "@loom/shared";

// The records the SDK returns, as the routes' response schemas (shared/src/api) define them.
/** A universe as the server shows it: no dice secret, no settings (see `dice`, `revealDice`). */
export type Universe = ApiResponse<"getUniverse">["universe"];
export type Run = ApiResponse<"run">["run"];
/** A play session of a run: from the turn that opened it to the one that closed it. */
export type PlaySession = ApiResponse<"runSessions">["sessions"][number];
export type Progression = ApiResponse<"progression">["progression"];
export type Invite = ApiResponse<"createInvite">["invite"];
export type Member = ApiResponse<"addMember">["member"];
/** A member as a game master's list shows them, with the name the player registered with. */
export type ListedMember = ApiResponse<"listMembers">["members"][number];
/** A universe of the caller's list, with their role in it (`yourRole`). */
export type ListedUniverse = ApiResponse<"listUniverses">["universes"][number];
export type Turn = ApiResponse<"turn">["turn"];
export type DiceDisclosure = ApiResponse<"dice">["dice"];
export type Telling = ApiResponse<"retell">["narration"];
export type TimelinePage = ApiResponse<"timeline">;
export type Recap = ApiResponse<"recap">;
/** GM: the timeline scrubber's answer at a position. */
export type ScrubView = ApiResponse<"scrub">;
/** GM: a universe's dashboard (presence, head, persisted and durable marks, narration). */
export type Dashboard = ApiResponse<"dashboard">;
export type { UniverseVisibility };
/** A position of the timeline as the caller may see it (`jump`). */
export type Jump = ApiResponse<"jump">;

/**
 * Options of a write that a retry must not apply twice: the same `idempotencyKey` sent again
 * (after a timeout, a dropped connection) gets the first answer back instead of a second effect.
 */
export interface WriteOptions {
  idempotencyKey?: string;
}

function keyed(options: WriteOptions | undefined): Record<string, string> {
  return options?.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : {};
}
import { joinRefusalOf, LoomError, query, request } from "./http.ts";
import { checkKeepTurns, UniverseSession } from "./session.ts";

/** The timeline query a client sends (the server decides on its own what a search may match). */
export type HistoryQuery = Omit<TimelineQuery, "searchPublic">;

/** What registering, logging in and refreshing return. `token` is the access token. */
export type AuthResult = ApiResponse<"login">;

/**
 * Colyseus's matchmaking calls ask for the browser's credentials (cookies) by default, which a
 * page on another origin may use only where the server allows credentials, and Loom allows none:
 * its calls carry the bearer token. Without them, a client hosted elsewhere joins rooms once its
 * origin is in the server's LOOM_CORS_ORIGINS.
 */
function withoutCredentials(url: string | URL | Request, init?: RequestInit): Promise<Response> {
  return fetch(url, { ...init, credentials: "omit" });
}

/**
 * The Colyseus SDK adds the access token to every room's WebSocket address (`_authToken`), where
 * proxies and access logs keep it. Loom checks the token once, as the seat is reserved over HTTP
 * (its Authorization header), and never reads it from the address: it is left out.
 */
function withoutTokenInUrl(url: URL): string {
  url.searchParams.delete("_authToken");
  return url.toString();
}

/** Reads a JWT's `exp` without verifying it (the server does that): only to refresh in time. */
function expiresWithin(token: string, seconds: number): boolean {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && exp * 1000 - Date.now() < seconds * 1000;
  } catch {
    return false;
  }
}

export interface ClientOptions {
  /**
   * Other processes of the same deployment (their base URLs). When the process serving a joined
   * universe dies, the session rejoins through whichever of these (or `url`) answers; behind a
   * load balancer that routes to live processes, `url` alone is enough.
   */
  servers?: string[];
  /** How long a session keeps trying to rejoin before it gives up (ms, default 60,000). */
  failoverMs?: number;
  /**
   * How long a join, or one attempt of a rejoin, waits for its room's first state before it gives
   * the seat up (ms, default 30,000): a join is then refused `unavailable`, a rejoin tries again.
   */
  firstStateMs?: number;
  /** Most commands a session holds while rejoining; more are refused `unavailable` (default 100). */
  maxHeldCommands?: number;
  /**
   * Where the tokens are kept beyond this client, shared with other clients of the same player
   * (a browser's tabs over one storage). Without it, two such clients renewing at once present the
   * same refresh token twice, which the server takes for a stolen one and revokes for both.
   */
  tokens?: TokenKeeper;
}

/** An access token and the refresh token that renews it. */
export interface TokenPair {
  token: string;
  refreshToken: string;
}

/**
 * Tokens kept outside one client (see ClientOptions.tokens). The client renews inside
 * `exclusive`, first taking a pair another client has renewed since; it writes every pair it
 * obtains, and null when it logs out or a renewal is refused (log in again).
 */
export interface TokenKeeper {
  /** Runs `renew` while no other client of this keeper runs one (a browser: navigator.locks). */
  exclusive<T>(renew: () => Promise<T>): Promise<T>;
  /** The pair kept now for this client's player; null when there is none. */
  read(): TokenPair | null;
  write(pair: TokenPair | null): void;
}

/** joinUniverse waits out an `unavailable` whose Retry-After is at most this long… */
const JOIN_RETRY_AFTER_MS = 2_000;
/** The longest wait between two rounds of a rejoin, before its random part. */
const REJOIN_MAX_WAIT_MS = 1_000;
/** …for at most this long in all. */
const JOIN_RETRY_BUDGET_MS = 5_000;
/** The pause before opening again a room that closed between its open and the seat. */
const ROOM_GONE_RETRY_MS = 50;

/**
 * Whether a join failed because its room went away between the open and the seat: not found or
 * locked as it closes, or, when the room is on another process, a seat that could not be reserved
 * in it as it closed (Colyseus's seat reservation error; a Loom room has no client limit, so
 * "full" there means closing).
 */
function roomGone(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === ErrorCode.MATCHMAKE_INVALID_ROOM_ID) return true;
  return (
    code === ErrorCode.MATCHMAKE_UNHANDLED &&
    typeof message === "string" &&
    /(is already full|is no longer available)\.$/.test(message)
  );
}
/** Most turns a session reads over HTTP after a reconnection (the newest; older ones: `history`). */
const MISSED_MAX = 2_000;

/** A join refusal no other attempt will change: the session stops rejoining. */
export const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  "unauthorized",
  "token_expired",
  "not_a_member",
  "member_removed",
  "unknown_universe",
  "unknown_run",
  "run_not_active",
  "not_your_character",
  "not_allowed",
  "invalid_message",
  "too_many_connections",
  "damaged_snapshot",
]);

/** The entry point: one Loom deployment, one player identity. Works in Node (≥ 20) and browsers. */
export class LoomClient {
  private readonly servers: string[];
  private current = 0;
  private readonly rooms = new Map<string, Client>();
  private readonly failoverMs: number;
  private readonly firstStateMs: number;
  private readonly maxHeld: number | undefined;
  private token: string | null = null;
  private refresh: string | null = null;
  /** One refresh at a time: two would present the same refresh token, which revokes it. */
  private refreshing: Promise<void> | null = null;
  private readonly keeper: TokenKeeper | null;

  constructor(url: string, options: ClientOptions = {}) {
    this.servers = [url, ...(options.servers ?? []).filter((server) => server !== url)];
    this.failoverMs = options.failoverMs ?? 60_000;
    this.firstStateMs = options.firstStateMs ?? 30_000;
    this.maxHeld = options.maxHeldCommands;
    this.keeper = options.tokens ?? null;
  }

  /** The base URL calls go to: the first server, or the one a session last failed over to. */
  get url(): string {
    return this.servers[this.current]!;
  }

  /** The Colyseus client of the current server (its matchmaker and rooms). */
  get colyseus(): Client {
    return this.roomsAt(this.current);
  }

  private roomsAt(index: number): Client {
    const server = this.servers[index]!;
    let client = this.rooms.get(server);
    if (!client) {
      client = new Client(server, { fetchFn: withoutCredentials, urlBuilder: withoutTokenInUrl });
      client.auth.token = this.token ?? "";
      this.rooms.set(server, client);
    }
    return client;
  }

  /** The access token: the bearer token of HTTP calls and room joins. */
  get playerToken(): string | null {
    return this.token;
  }

  /** The refresh token that renews the access token (keep it to stay logged in across restarts). */
  get refreshToken(): string | null {
    return this.refresh;
  }

  /** Uses existing tokens (e.g. kept from an earlier login); without a refresh token none is renewed. */
  useToken(token: string, refreshToken: string | null = this.refresh): this {
    return this.setTokens(token, refreshToken);
  }

  private setTokens(token: string | null, refreshToken: string | null): this {
    this.token = token;
    this.refresh = refreshToken;
    for (const client of this.rooms.values()) client.auth.token = token ?? "";
    return this;
  }

  /** Registers a player; with a password the name becomes a login name (unique, any case). */
  async registerPlayer(name: string, options: { password?: string } = {}): Promise<AuthResult> {
    return this.begin(
      await request<AuthResult>(this.url, "POST", "/api/players", null, { name, ...options }),
    );
  }

  /** Logs in with a name and password; `invalid_credentials` when they do not match. */
  async login(name: string, password: string): Promise<AuthResult> {
    return this.begin(
      await request<AuthResult>(this.url, "POST", "/api/auth/login", null, { name, password }),
    );
  }

  /**
   * Trades the refresh token for a new access token (and the next refresh token). Calls do this
   * by themselves when the access token has expired; a failure means logging in again. With a
   * token keeper, a pair another client renewed since is taken instead.
   */
  async refreshSession(): Promise<void> {
    const renew = async (): Promise<void> => {
      const kept = this.keeper?.read();
      if (kept && kept.refreshToken !== this.refresh) {
        this.setTokens(kept.token, kept.refreshToken);
        return;
      }
      if (!this.refresh) throw new LoomError("token_expired", "no refresh token: log in again", 401);
      try {
        this.begin(
          await request<AuthResult>(this.url, "POST", "/api/auth/refresh", null, {
            refreshToken: this.refresh,
          }),
        );
      } catch (error) {
        if (error instanceof LoomError && error.status === 401) this.keepTokens(null, null);
        throw error;
      }
    };
    this.refreshing ??= (this.keeper ? this.keeper.exclusive(renew) : renew()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Logs out this device: its refresh token stops working; other devices stay logged in. */
  async logout(): Promise<void> {
    const refreshToken = this.refresh;
    this.keepTokens(null, null);
    if (refreshToken) await request(this.url, "POST", "/api/auth/logout", null, { refreshToken });
  }

  /** Logs out everywhere: every refresh token and access token of this player stops working. */
  async logoutAll(): Promise<void> {
    await this.route("logoutAll", "POST", "/api/auth/logout-all", {});
    this.keepTokens(null, null);
  }

  /**
   * Sets a password (a player registered without one), or changes it given the current one.
   * Either logs out every earlier session, this client's included: it keeps the new tokens, and
   * its open universe sessions end with CloseCode.SessionRevoked (join again).
   * `login` picks a login name other than the player's name.
   */
  async setPassword(
    password: string,
    options: { currentPassword?: string; login?: string } = {},
  ): Promise<{ login: string }> {
    const result = await this.route("setPassword", "POST", "/api/me/password", {
      password,
      ...options,
    });
    if ("token" in result) this.keepTokens(result.token, result.refreshToken);
    return { login: result.login };
  }

  /** The caller (null when their player record is gone), their login name once they have a password, and their runs. */
  async me(): Promise<ApiResponse<"me">> {
    return this.route("me", "GET", "/api/me");
  }

  private begin(result: AuthResult): AuthResult {
    this.keepTokens(result.token, result.refreshToken);
    return result;
  }

  /** A pair this client obtained (or gave up), told to the keeper as well. */
  private keepTokens(token: string | null, refreshToken: string | null): void {
    this.setTokens(token, refreshToken);
    this.keeper?.write(token && refreshToken ? { token, refreshToken } : null);
  }

  /** An authenticated call; an expired access token is refreshed once and the call retried. */
  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const used = this.token;
    try {
      return await request<T>(this.url, method, path, used, body, headers);
    } catch (error) {
      if (!(error instanceof LoomError) || error.code !== "token_expired" || !this.refresh) throw error;
      if (this.token === used) await this.refreshSession(); // else another call refreshed already
      return request<T>(this.url, method, path, this.token, body, headers);
    }
  }

  /**
   * An authenticated call of one route of the HTTP contract (shared `API`): the answer is typed by
   * the route's response schema, the method checked against the route's.
   */
  private route<K extends ApiRouteName>(
    _name: K,
    method: Uppercase<(typeof API)[K]["method"]>,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<K>> {
    return this.call<ApiResponse<K>>(method, path, body, headers);
  }

  /** Before a room join: a token that expires within a minute is renewed first. */
  private async freshToken(): Promise<void> {
    if (this.token && this.refresh && expiresWithin(this.token, 60)) await this.refreshSession();
  }

  /**
   * The server draws the universe's dice secret; `diceCommitment` is its published sha256. A
   * universe is private (members and game masters only) unless `visibility: "public"`.
   */
  async createUniverse(input: {
    name: string;
    premise?: string;
    visibility?: UniverseVisibility;
  }): Promise<Universe> {
    return (await this.route("createUniverse", "POST", "/api/universes", input)).universe;
  }

  /** GM: make the universe public (any signed-in player may read, watch and join) or private. */
  async setVisibility(universeId: string, visibility: UniverseVisibility): Promise<Universe> {
    return (
      await this.route("changeUniverse", "PATCH", `/api/universes/${encodeURIComponent(universeId)}`, {
        visibility,
      })
    ).universe;
  }

  /**
   * GM: what a new character's sheet may hold in the universe (skill cap, skill points, refresh);
   * those left out stay as they are. Characters made before keep their sheets.
   */
  async setCharacterLimits(universeId: string, limits: Partial<CharacterLimits>): Promise<Universe> {
    return (
      await this.route("changeUniverse", "PATCH", `/api/universes/${encodeURIComponent(universeId)}`, {
        characterLimits: limits,
      })
    ).universe;
  }

  /** GM: a new invite code; unlimited and without expiry unless limited here. */
  async createInvite(
    universeId: string,
    limits: { maxUses?: number; expiresInSeconds?: number } = {},
  ): Promise<Invite> {
    return (
      await this.route(
        "createInvite",
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/invites`,
        limits,
      )
    ).invite;
  }

  async listInvites(universeId: string): Promise<Invite[]> {
    return (
      await this.route("listInvites", "GET", `/api/universes/${encodeURIComponent(universeId)}/invites`)
    ).invites;
  }

  async revokeInvite(universeId: string, code: string): Promise<Invite> {
    return (
      await this.route(
        "revokeInvite",
        "DELETE",
        `/api/universes/${encodeURIComponent(universeId)}/invites/${encodeURIComponent(code)}`,
      )
    ).invite;
  }

  /** Becomes a member of the universe the code is for. */
  async acceptInvite(code: string): Promise<ApiResponse<"acceptInvite">> {
    return this.route("acceptInvite", "POST", `/api/invites/${encodeURIComponent(code)}/accept`, {});
  }

  /** GM: the universe's members, removed ones included (with `removedAt`). */
  async listMembers(universeId: string): Promise<ListedMember[]> {
    return (
      await this.route("listMembers", "GET", `/api/universes/${encodeURIComponent(universeId)}/members`)
    ).members;
  }

  /** GM: adds a player directly, or re-admits one removed. */
  async addMember(universeId: string, playerId: string): Promise<Member> {
    return (
      await this.route(
        "addMember",
        "PUT",
        `/api/universes/${encodeURIComponent(universeId)}/members/${encodeURIComponent(playerId)}`,
        {},
      )
    ).member;
  }

  /** GM: removes a player; their connections to the universe close and they can no longer play in it. */
  async removeMember(universeId: string, playerId: string): Promise<Member> {
    return (
      await this.route(
        "removeMember",
        "DELETE",
        `/api/universes/${encodeURIComponent(universeId)}/members/${encodeURIComponent(playerId)}`,
      )
    ).member;
  }

  async getUniverse(id: string): Promise<Universe> {
    return (await this.route("getUniverse", "GET", `/api/universes/${encodeURIComponent(id)}`)).universe;
  }

  /** Public universes and the caller's own, newest first, each with the caller's role in it. */
  async listUniverses(): Promise<ListedUniverse[]> {
    return (await this.route("listUniverses", "GET", "/api/universes")).universes;
  }

  /** Creates a character in a universe and starts its run. */
  async createCharacter(
    universeId: string,
    sheet: CharacterSheetInput & { therapeuticFocus?: string },
  ): Promise<ApiResponse<"createCharacter">> {
    return this.route(
      "createCharacter",
      "POST",
      `/api/universes/${encodeURIComponent(universeId)}/characters`,
      sheet,
    );
  }

  /**
   * Joins a universe live. Players pass the run they play; GMs and spectators only the role.
   * When the connection is lost the session rejoins by itself, through any of the deployment's
   * servers (see ClientOptions and the session's `reconnecting` / `reconnected` events).
   */
  async joinUniverse(
    universeId: string,
    options: {
      role: JoinRole;
      runId?: string;
      /** How many of the newest turns `session.turns` holds (default 1,000); older ones: `history`. */
      keepTurns?: number;
      /**
       * The client session's id (default: a new one): a page that keeps one through its reloads
       * takes over the seat the server keeps for the page it replaced, rather than holding another.
       */
      session?: string;
    },
  ): Promise<UniverseSession> {
    const { keepTurns, session: named, ...seat } = options;
    if (keepTurns !== undefined) checkKeepTurns(keepTurns); // before joining, not after
    // one id for this session and its rejoins: another session of the player numbers its own
    const join = { ...seat, session: named ?? sessionId() };
    try {
      const room = await this.joinSoon(universeId, join);
      const session = new UniverseSession(room, keepTurns, {
        rejoin: (signal, seat) => this.rejoin(universeId, join, signal, seat),
        maxHeld: this.maxHeld,
        missed: (after, before) => this.missedTurns(universeId, after, before),
        recorded: async (position) => (await this.turn(universeId, position)).narration?.text ?? null,
      });
      // a room that closed before its state: the session ended with it, rejoining nothing
      // a player's seat also says whether it has a recap, just after the state: `lastRecap` is set
      const seated = join.role === "player" ? session.ready.then(() => session.recapHeard) : session.ready;
      await this.stated(seated, () => session.leave());
      return session;
    } catch (error) {
      throw asJoinError(error);
    }
  }

  /**
   * joinRoom on the current server, again while the server answers `unavailable` and asks to
   * retry within JOIN_RETRY_AFTER_MS (a database restarting, an owner moving), for at most
   * JOIN_RETRY_BUDGET_MS. A longer wait asked for (a universe that needs an operator) is final.
   * A room gone between the open and the seat (its last member left just then, and it closed)
   * is opened again ROOM_GONE_RETRY_MS later: the open waits for the closing room and makes a
   * new one.
   */
  private async joinSoon(universeId: string, join: JoinOptions): Promise<Room> {
    const deadline = Date.now() + JOIN_RETRY_BUDGET_MS;
    for (;;) {
      try {
        return await this.joinRoom(this.current, universeId, join);
      } catch (error) {
        const wait = roomGone(error)
          ? ROOM_GONE_RETRY_MS
          : error instanceof LoomError && error.code === "unavailable"
            ? error.retryAfterMs
            : undefined;
        if (wait === undefined || wait > JOIN_RETRY_AFTER_MS || Date.now() + wait > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Opens the universe through a server's HTTP API, then takes a seat in its room. */
  private async joinRoom(index: number, universeId: string, join: JoinOptions): Promise<Room> {
    await this.freshToken();
    const open = () =>
      request(
        this.servers[index]!,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/open`,
        this.token,
        {},
      );
    await open().catch(async (error: unknown) => {
      if (!(error instanceof LoomError) || error.code !== "token_expired" || !this.refresh) throw error;
      await this.refreshSession();
      return open();
    });
    const rooms = this.roomsAt(index);
    rooms.auth.token = this.token ?? "";
    return rooms.joinById(universeId, join).catch(async (error: unknown) => {
      // expired between the check above and the join (or the clocks disagree): once more, fresh
      if (!this.refresh || joinRefusalOf(error)?.code !== "token_expired") throw error;
      await this.refreshSession();
      rooms.auth.token = this.token ?? "";
      return rooms.joinById(universeId, join);
    });
  }

  /**
   * A seat again after the connection was lost: every server in turn, from the current one, with
   * backoff, until one serves the universe (a new owner takes it once the dead one's lease
   * lapses) and `seat` has its first state, or `failoverMs` has passed. A room that closes before
   * its state is a failed attempt like a refused join. A refusal no retry can change ends it at
   * once.
   */
  private async rejoin(
    universeId: string,
    join: JoinOptions,
    signal: AbortSignal,
    seat: (room: Room) => Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + this.failoverMs;
    let last: unknown = null;
    let retryAfter = 0;
    for (let attempt = 0; ; attempt++) {
      for (let i = 0; i < this.servers.length; i++) {
        if (signal.aborted) throw new LoomError("unavailable", "left while rejoining");
        const index = (this.current + i) % this.servers.length;
        try {
          const room = await this.joinRoom(index, universeId, join);
          await this.stated(seat(room), () => room.leave(true));
          this.current = index;
          return;
        } catch (error) {
          last = error;
          const code = error instanceof LoomError ? error.code : joinRefusalOf(error)?.code;
          if (code !== undefined && FINAL_REFUSALS.has(code)) throw asJoinError(error);
          // the server said when to come back: sooner is refused again, much later is not a rejoin
          const asked = error instanceof LoomError ? error.retryAfterMs : undefined;
          if (asked !== undefined && asked > JOIN_RETRY_AFTER_MS) throw asJoinError(error);
          if (asked !== undefined) retryAfter = Math.max(retryAfter, asked);
        }
      }
      const wait = Math.max(retryAfter, rejoinWait(attempt));
      if (Date.now() + wait >= deadline) throw asJoinError(last);
      retryAfter = 0;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * `ready` (a seat's first state), or `unavailable` once `firstStateMs` has passed without it:
   * a server that neither sends the state nor closes the room must not hold a join for good.
   * The seat is given up then (`giveUp`, not waited for: such a server may not answer a leave).
   */
  private async stated(ready: Promise<void>, giveUp: () => Promise<unknown>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.firstStateMs);
    });
    try {
      if ((await Promise.race([ready, late])) !== "late") return;
    } finally {
      clearTimeout(timer);
    }
    void giveUp().catch(() => undefined);
    throw new LoomError("unavailable", `the room sent no state within ${this.firstStateMs} ms`);
  }

  async history(universeId: string, page: HistoryQuery = {}): Promise<ApiResponse<"timeline">> {
    return this.route(
      "timeline",
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/timeline${query({ ...page })}`,
    );
  }

  /**
   * A session's turns between `after` and `before` (both excluded), oldest first: what it missed
   * while it had no seat, beyond what the server sends again. At most MISSED_MAX, the newest.
   */
  private async missedTurns(universeId: string, after: number, before: number): Promise<Turn[]> {
    const turns: Turn[] = [];
    let cursor: number | null = Math.max(after, before - 1 - MISSED_MAX);
    while (cursor !== null && cursor < before - 1) {
      const page: TimelinePage = await this.history(universeId, { cursor, order: "asc", limit: 500 });
      for (const turn of page.turns) if (turn.position < before) turns.push(turn);
      // a cursor that does not move on would read the same page forever
      cursor = page.nextCursor !== null && page.nextCursor > cursor ? page.nextCursor : null;
    }
    return turns;
  }

  async turn(universeId: string, position: number): Promise<Turn> {
    return (
      await this.route("turn", "GET", `/api/universes/${encodeURIComponent(universeId)}/turns/${position}`)
    ).turn;
  }

  async run(runId: string): Promise<Run> {
    return (await this.route("run", "GET", `/api/runs/${encodeURIComponent(runId)}`)).run;
  }

  /**
   * A character's full sheet as the story has left it (stress, consequences, fate points, private
   * notes): your own characters' (without the game masters' notes on them), or any in a universe you
   * are a game master of. `null` until the character has joined play.
   */
  async character(
    characterId: string,
    options: { universeId?: string } = {},
  ): Promise<ApiResponse<"character">> {
    const at = options.universeId ? `?universe=${encodeURIComponent(options.universeId)}` : "";
    return this.route("character", "GET", `/api/characters/${encodeURIComponent(characterId)}${at}`);
  }

  /** The run's play sessions, oldest first; `endReason` says whether the player left or the server stopped. */
  async runSessions(runId: string): Promise<PlaySession[]> {
    return (await this.route("runSessions", "GET", `/api/runs/${encodeURIComponent(runId)}/sessions`))
      .sessions;
  }

  /** "Last time on…" for a run as of now (the same timeline always gives the same recap). */
  async recap(runId: string): Promise<ApiResponse<"recap">> {
    return this.route("recap", "GET", `/api/runs/${encodeURIComponent(runId)}/recap`);
  }

  async pauseRun(runId: string): Promise<Run> {
    return (await this.route("pauseRun", "POST", `/api/runs/${encodeURIComponent(runId)}/pause`, {})).run;
  }

  /** Resumes a paused or abandoned run. */
  async resumeRun(runId: string): Promise<Run> {
    return (await this.route("resumeRun", "POST", `/api/runs/${encodeURIComponent(runId)}/resume`, {})).run;
  }

  async completeRun(
    runId: string,
    reason = "retired",
    options?: WriteOptions,
  ): Promise<ApiResponse<"completeRun">> {
    return this.route(
      "completeRun",
      "POST",
      `/api/runs/${encodeURIComponent(runId)}/complete`,
      { reason },
      keyed(options),
    );
  }

  async abandonRun(runId: string, options?: WriteOptions): Promise<ApiResponse<"abandonRun">> {
    return this.route(
      "abandonRun",
      "POST",
      `/api/runs/${encodeURIComponent(runId)}/abandon`,
      {},
      keyed(options),
    );
  }

  /** A new run of one of your existing characters (e.g. in a branch). */
  async startRun(universeId: string, characterId: string): Promise<Run> {
    return (
      await this.route("startRun", "POST", `/api/universes/${encodeURIComponent(universeId)}/runs`, {
        characterId,
      })
    ).run;
  }

  async progression(): Promise<Progression> {
    return (await this.route("progression", "GET", "/api/me/progression")).progression;
  }

  /** GM: branch the universe after `position` into a new universe (copy-on-write). */
  async branch(
    universeId: string,
    position: number,
    name?: string,
    options?: WriteOptions,
  ): Promise<Universe> {
    return (
      await this.route(
        "branch",
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/branch`,
        { position, name },
        keyed(options),
      )
    ).universe;
  }

  /**
   * The commitments of a timeline's dice, with the secrets of the universes that revealed theirs:
   * pass it to `verifyDice` with the timeline's turns to check every roll.
   */
  async dice(universeId: string): Promise<DiceDisclosure> {
    return (await this.route("dice", "GET", `/api/universes/${encodeURIComponent(universeId)}/dice`)).dice;
  }

  /** GM: reveals the universe's dice secret, typically when its campaign ends; it rolls no more. */
  async revealDice(universeId: string): Promise<DiceDisclosure> {
    return (
      await this.route("revealDice", "POST", `/api/universes/${encodeURIComponent(universeId)}/reveal`, {})
    ).dice;
  }

  /**
   * Undo over HTTP: a GM the latest applied turn (or `position`), a player their own latest if it
   * rolled no dice.
   */
  async undo(universeId: string, position?: number, options?: WriteOptions): Promise<Turn> {
    return (
      await this.route(
        "undo",
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/undo`,
        position === undefined ? {} : { position },
        keyed(options),
      )
    ).turn;
  }

  /** GM: a checksummed snapshot of the current state; returns its position. */
  async snapshot(universeId: string): Promise<number> {
    return (
      await this.route("snapshot", "POST", `/api/universes/${encodeURIComponent(universeId)}/snapshots`, {})
    ).position;
  }

  /** GM: a retcon over HTTP. */
  async retcon(
    universeId: string,
    note: string,
    deltas: Delta[] = [],
    options?: WriteOptions,
  ): Promise<Turn> {
    return (
      await this.route(
        "retcon",
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/retcon`,
        { note, deltas },
        keyed(options),
      )
    ).turn;
  }

  /** GM: tells a turn again; the retelling is appended to its narration (the first one is kept). */
  async retell(universeId: string, position: number): Promise<Telling> {
    return (
      await this.route(
        "retell",
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/turns/${position}/retellings`,
        {},
      )
    ).narration;
  }

  /** GM: the universe's state at a position (default: the head), with its checksum. */
  async stateAt(universeId: string, position?: number): Promise<ApiResponse<"state">> {
    return this.route(
      "state",
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/state${query({ position })}`,
    );
  }

  /** GM: the ids and labels of the world's NPCs, locations, factions and quests at the head. */
  async worldNames(universeId: string): Promise<ApiResponse<"worldNames">> {
    return this.route("worldNames", "GET", `/api/universes/${encodeURIComponent(universeId)}/names`);
  }

  /** GM: the deltas of the turns in (from, to] (to: the head), each with its position; at most 1,000 turns. */
  async diff(universeId: string, from: number, to?: number): Promise<ApiResponse<"diff">> {
    return this.route(
      "diff",
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/diff${query({ from, to })}`,
    );
  }

  /** GM: the timeline scrubber at a position: the state there in brief, the turn and its deltas. */
  async scrub(universeId: string, position: number): Promise<ApiResponse<"scrub">> {
    return this.route(
      "scrub",
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/scrub${query({ position })}`,
    );
  }

  /** GM: who is present, the head, the persisted and durable marks, narration (the console's dashboard). */
  async dashboard(universeId: string): Promise<ApiResponse<"dashboard">> {
    return this.route("dashboard", "GET", `/api/universes/${encodeURIComponent(universeId)}/dashboard`);
  }

  /**
   * Time travel, read-only: the state and the turn at `position` (default: the head) as this
   * player may see them (no GM notes, no other player's private notes, no hidden roll). Any
   * member may jump; rewinding for real is a game master's branch.
   */
  async jump(universeId: string, position?: number): Promise<Jump> {
    return this.call("GET", `/api/universes/${encodeURIComponent(universeId)}/jump${query({ position })}`);
  }

  /**
   * Where to jump: session starts, scene starts, quests, milestones, major events, save points;
   * every one of the universe, in position order (a long campaign's list takes a request per page:
   * see `bookmarkPage`).
   */
  async bookmarks(universeId: string): Promise<Bookmark[]> {
    const pages: Bookmark[][] = [];
    let before: number | undefined;
    do {
      const page = await this.bookmarkPage(universeId, before);
      pages.unshift(page.bookmarks);
      before = page.nextBefore ?? undefined;
    } while (before !== undefined);
    return pages.flat();
  }

  /**
   * The newest bookmarks before `before` (default: all the newest), in position order, and where
   * the older ones start (`nextBefore`, null when there are none).
   */
  async bookmarkPage(universeId: string, before?: number): Promise<ApiResponse<"bookmarks">> {
    return this.call("GET", `/api/universes/${encodeURIComponent(universeId)}/bookmarks${query({ before })}`);
  }

  /** Names a save point at the player's own latest turn (`position`); it is listed with the bookmarks. */
  async nameSavePoint(universeId: string, position: number, name: string): Promise<SavePointRecord> {
    return (
      await this.call<ApiResponse<"nameSavePoint">>(
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/save-points`,
        { position, name },
      )
    ).savePoint;
  }

  /** Forgets one of your save points by name (its place under the cap is free again). */
  async removeSavePoint(universeId: string, name: string): Promise<SavePointRecord> {
    return (
      await this.call<ApiResponse<"removeSavePoint">>(
        "DELETE",
        `/api/universes/${encodeURIComponent(universeId)}/save-points/${encodeURIComponent(name)}`,
      )
    ).savePoint;
  }

  /** GM: the snapshots of the timeline (the inherited ones too), with their checksums. */
  async snapshots(universeId: string): Promise<SnapshotInfo[]> {
    return (
      await this.call<ApiResponse<"listSnapshots">>(
        "GET",
        `/api/universes/${encodeURIComponent(universeId)}/snapshots`,
      )
    ).snapshots;
  }

  /**
   * GM: hands a branch to one player as their own solo timeline: they become its only member,
   * the other members are let go (and disconnected), open invites are revoked, it turns private.
   */
  async handOver(branchId: string, playerId: string): Promise<ApiResponse<"handOver">> {
    return this.call("PUT", `/api/universes/${encodeURIComponent(branchId)}/solo`, { playerId });
  }
}

export function connect(url: string, options: ClientOptions = {}): LoomClient {
  return new LoomClient(url, options);
}

type JoinOptions = { role: JoinRole; runId?: string };

/**
 * The wait before a rejoin's next round: doubling from 100 ms up to REJOIN_MAX_WAIT_MS, half of it
 * random, so that the sessions a dead process dropped all at once do not come back in step.
 */
function rejoinWait(attempt: number): number {
  const ceiling = Math.min(REJOIN_MAX_WAIT_MS, 100 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * What a room closing a connection before its join completed means, for the codes that say it:
 * the player was removed, or logged out everywhere, while joining.
 */
const CLOSED_WHILE_JOINING: Partial<Record<number, { code: string; message: string }>> = {
  [CloseCode.MemberRemoved]: {
    code: RejectionCode.MemberRemoved,
    message: REFUSAL_WORDS.memberRemoved,
  },
  [CloseCode.SessionRevoked]: {
    code: RejectionCode.Unauthorized,
    message: REFUSAL_WORDS.sessionRevoked,
  },
  [CloseCode.NoLongerGameMaster]: {
    code: RejectionCode.NotAllowed,
    message: REFUSAL_WORDS.noLongerGameMaster,
  },
};

/** A failed join as a LoomError with the server's code (join_failed when it sent none). */
function asJoinError(error: unknown): LoomError {
  if (error instanceof LoomError) return error;
  const refusal = joinRefusalOf(error);
  const status = (error as { code?: number } | null)?.code;
  if (refusal) return new LoomError(refusal.code, refusal.message, status);
  const closed = status === undefined ? undefined : CLOSED_WHILE_JOINING[status];
  if (closed) return new LoomError(closed.code, closed.message, status);
  return new LoomError("join_failed", error instanceof Error ? error.message : String(error), status);
}

export type { Snapshot };

/** 64 random bits, URL-safe: a session's id among the few its player has open at once. */
function sessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
