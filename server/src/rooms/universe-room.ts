import {
  ErrorCode,
  getMessageBytes,
  Protocol,
  Room,
  ServerError,
  type Client,
  type AuthContext,
} from "@colyseus/core";
import { StateView } from "@colyseus/schema";
import {
  REFUSAL_WORDS,
  actMessageSchema,
  retconMessageSchema,
  undoMessageSchema,
  CloseCode,
  joinOptionsSchema,
  jsonValueProblem,
  MESSAGE_BOUNDS,
  encodeMemberTurnMessage,
  encodeTurnMessage,
  reject,
  RejectionCode,
  ownerOnlyCharacters,
  RECENT_TURNS,
  ServerMessage,
  SPECTATOR,
  type AckMessage,
  type NarrationMessage,
  type RecentMessage,
  type Rejection,
  type Turn,
  type UniverseState,
  memberActor,
} from "@loom/shared";
import { services } from "../services.ts";
import { AuthError } from "../auth/tokens.ts";
import { log } from "../log.ts";
import { faults } from "../fault-log.ts";
import type { TrackedUniverse } from "../metrics.ts";
import type { UniverseAuthority } from "../universe/authority.ts";
import { UniverseRoomState, VIEW_TAG } from "./room-state.ts";
import { memberTurn, syncAspect, syncCharacter, syncScene, syncSceneFields, touched } from "./projection.ts";
import { TokenBucket } from "./rate-limit.ts";
import { intake } from "./intake.ts";
import { refuseForeignFrames, watchFrames } from "./frame-size.ts";
import { totalHandler } from "./total-handler.ts";
import {
  admitMember,
  seatEnd,
  joinRefusal,
  ownerOf,
  seatEndOnReturn,
  viewerOf,
  type Member,
} from "./membership.ts";
import { cutOffBacklogged, outputBatch } from "./output-batch.ts";
import { NarrationOutput } from "./narration-output.ts";
import { PlaySessions } from "./play-sessions.ts";
import { ConnectionLimit } from "./connection-limit.ts";
import { operations, type OperationName, type OperationResult } from "../universe/operations.ts";
import { UniverseNarration, type Audience } from "../narrator/index.ts";
import { handOver } from "../universe/hand-over.ts";

export interface AuthData {
  playerId: string;
  name: string;
  /** The token generation the join was made with (tokens.ts). */
  generation: number;
}

type MemberState = Member & {
  /** The player's bucket in this universe, shared by all their connections to it. */
  bucket: TokenBucket;
  /** Whether this connection holds a seat in its run's play session. */
  seated: boolean;
  /** The newest turn acknowledged to this member that the marks sent to it do not cover yet (0: none). */
  awaitingMarks: number;
  /** The token generation seen at join: a log-out-everywhere since raised the player's past it. */
  generation: number;
  /** The connection was lost and is not back on its seat (yet): its session ends where it went. */
  away: boolean;
  /** The join named its client session: a later join with the same `clientKey` is that session's rejoin. */
  namedSession: boolean;
  /** The address the seat's connection came from, the only one its token brings it back from. */
  address: string | undefined;
  /** When the connection was lost (0 while it holds its seat). */
  droppedAt: number;
};

/**
 * How long after a connection is lost its seat's token brings it back: the SDK tries three times
 * within about a second of noticing, and joins again with its bearer token after that.
 */
const SEAT_TOKEN_MS = 10_000;

/** The peer address of a client's socket (a proxy's, behind one). */
function peerAddress(client: Client): string | undefined {
  return (client as { ref?: { _socket?: { remoteAddress?: string } } }).ref?._socket?.remoteAddress;
}

/** The member a client joined as (undefined before onJoin finished). */
function memberOf(client: Client): MemberState | undefined {
  return client.userData as MemberState | undefined;
}

/**
 * One universe, one room, room id = universe id. The room wires Colyseus to the universe's
 * authority: it admits members by role, turns messages into commands, projects the state for
 * clients and runs the persister on its ticks. The rules and the timeline live elsewhere.
 */
export class UniverseRoom extends Room<{ state: UniverseRoomState }> {
  override state = new UniverseRoomState();
  override autoDispose = true;
  private authority!: UniverseAuthority;
  private readonly gmView = new StateView();
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private seatTimer: ReturnType<typeof setInterval> | null = null;
  private checkingSeats = false;
  private disposing = false;
  /** Another process owns the universe now: this room closes under its members. */
  private movedAway = false;
  private stopTick: (() => void) | null = null;
  private announced = { durableThrough: -1, persistedThrough: -1 };
  /** When the last state patch went out, and whether a turn is sending one now (see broadcastPatch). */
  private lastPatchAt = -Infinity;
  private patchingWithTurn = false;
  /** Session endings in progress; disposal waits for them so their turns are flushed too. */
  private readonly leaving = new Set<Promise<void>>();
  private sessions!: PlaySessions;
  /**
   * Action rate per player in this universe: N sockets share one bucket, not N buckets. A player
   * gone from the room whose bucket is full again is dropped (`dropIdleBuckets`).
   */
  private readonly buckets = new Map<string, TokenBucket>();
  /** Players removed while this room is open; a join afterwards is checked afresh and clears them. */
  private readonly expelled = new Set<string>();
  /**
   * How many times each player was removed while this room is open: a join that read the player's
   * membership before a removal it did not see compares the count before and after.
   */
  private readonly removals = new Map<string, number>();
  /**
   * Connections this room closed for good (a member removed, a token revoked): no seat is kept
   * for them to come back to, so the member leaves the table at once (onDrop).
   */
  private readonly dismissed = new WeakSet<Client>();
  /**
   * The seats kept for lost connections of client sessions that named themselves, by client key.
   * Such a session that joins again instead of reconnecting (the SDK's failover, when the same seat
   * could not be had back) never takes its kept seat: held until its window runs out, it would
   * keep the play session open after the player left, and end it as a drop (giveUpKeptSeat). Each
   * is its reconnection's `reject`, which gives the seat up as the end of its window does.
   */
  private readonly kept = new Map<string, (reason: unknown) => void>();
  private connections!: ConnectionLimit;
  private narration: UniverseNarration | null = null;
  private readonly narrationOutput = new NarrationOutput((messages, audience) =>
    this.sendNarration(messages, audience),
  );
  /** This universe's timings and persist lag, reported to the process's metrics until it closes. */
  private tracked!: TrackedUniverse;

  static override async onAuth(token: string, _options: unknown, _context: AuthContext): Promise<AuthData> {
    if (!token)
      throw joinRefusal(
        ErrorCode.AUTH_FAILED,
        RejectionCode.Unauthorized,
        "a player token is required (Authorization: Bearer <token>)",
      );
    try {
      return await services().tokens.verify(token);
    } catch (error) {
      // the SDK reads the code (`token_expired` means: refresh, retry)
      if (error instanceof AuthError) throw joinRefusal(ErrorCode.AUTH_FAILED, error.code, error.message);
      log.error("verifying a token at join failed", { err: error });
      throw joinRefusal(503, RejectionCode.Unavailable, "the token could not be checked now; try again");
    }
  }

  override onCreate(options: { universeId: string }): void {
    refuseForeignFrames(this);
    const { ownership, config } = services();
    this.authority = ownership.take(options.universeId);
    this.sessions = new PlaySessions(this.authority);
    const authority = this.authority;
    this.tracked = services().metrics.trackUniverse(() => authority.head - authority.persistedThrough);
    // renewed with the lease, every third of its TTL; a dead process's connections lapse
    this.connections = new ConnectionLimit(
      this.presence,
      config.maxConnectionsPerPlayer,
      Math.max(30_000, config.leaseTtlMs * 3),
    );
    // Colyseus disconnects a client past this many messages a second; well above the action
    // limit, so a fast client meets `rate_limited` rejections first. No action limit, no cap.
    this.maxMessagesPerSecond =
      config.actionsPerSecond === 0 ? Infinity : Math.max(100, config.actionsPerSecond * 20);
    this.authority.setListener({
      onTurn: (turn, state) => this.onTurn(turn, state),
      // Marks go into the synced state at once. The `durable` message goes out once per flush:
      // live-store durability (per turn, Redis mode) is coalesced into the next tick, since the
      // ack already tells an actor its turn is durable.
      onDurable: (through) => {
        this.tracked.timings.durable(through);
        this.markDurable();
      },
      onPersisted: (through) => {
        this.tracked.timings.persisted(through);
        this.broadcastDurable();
      },
      onFenced: (error) => {
        log.warn(`universe ${this.roomId} fenced: ${error.message}`, { universeId: this.roomId });
        this.movedAway = true;
        void this.disconnect(CloseCode.UniverseMoved);
      },
    });
    this.project();
    this.startNarration();
    this.patchRate = config.patchIntervalMs;
    this.stopTick = services().persistTick.add(() => {
      this.broadcastDurable();
      void this.authority.flush();
    });
    this.leaseTimer = setInterval(
      () => void this.renewLease(),
      Math.max(100, Math.floor(config.leaseTtlMs / 3)),
    );
    this.seatTimer = setInterval(() => void this.checkSeatsNow(), config.seatCheckMs);
    this.onMessage("*", (client, type) => {
      const name = typeof type === "string" ? type.slice(0, 64) : String(type);
      this.sendRejection(
        client,
        null,
        reject(RejectionCode.InvalidMessage, `unknown message type "${name}"`),
      );
    });
    const handlers = {
      universeId: this.roomId,
      who: (client: Client) => {
        const member = memberOf(client);
        return member ? `${member.role} ${member.playerId}` : null;
      },
      reply: (client: Client, seq: number | null, rejection: Rejection) =>
        this.sendRejection(client, seq, rejection),
      closing: (client: Client) => this.dismissed.has(client),
    };
    this.onMessage(
      "act",
      totalHandler(handlers, "act", (c, m, bytes) => this.onAct(c, m, bytes)),
    );
    this.onMessage(
      "undo",
      totalHandler(handlers, "undo", (c, m, bytes) => this.onUndo(c, m, bytes)),
    );
    this.onMessage(
      "retcon",
      totalHandler(handlers, "retcon", (c, m, bytes) => this.onRetcon(c, m, bytes)),
    );
  }

  /**
   * Admits a member. Every refusal is a ServerError carrying its rejection code (joinRefusal);
   * anything else that fails is logged here once and reported to the client as `unavailable`.
   */
  override async onJoin(client: Client, options: unknown, auth: AuthData): Promise<void> {
    try {
      await this.admit(client, options, auth);
    } catch (error) {
      if (error instanceof ServerError) throw error;
      log.error(`universe ${this.roomId}: join of ${auth?.playerId ?? "?"} failed`, {
        err: error,
        universeId: this.roomId,
      });
      throw joinRefusal(503, RejectionCode.Unavailable, "the universe could not admit you now; try again");
    }
  }

  private async admit(client: Client, options: unknown, auth: AuthData): Promise<void> {
    // before anything else a join does (a reconnection to the same seat is no join)
    const wait = services().joins?.take(`${this.roomId} ${auth.playerId}`) ?? 0;
    if (wait > 0)
      throw joinRefusal(429, RejectionCode.RateLimited, `too many joins here: retry in ${wait} s`);
    const problem = jsonValueProblem(options ?? {}, MESSAGE_BOUNDS);
    if (problem) throw joinRefusal(400, RejectionCode.InvalidMessage, `join options: ${problem}`);
    const parsed = joinOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw joinRefusal(
        400,
        RejectionCode.InvalidMessage,
        `join options: ${issue?.path.map(String).join(".") || "options"}: ${issue?.message ?? "invalid"}`,
      );
    }
    const { config } = services();
    if (!(await this.connections.admit(auth.playerId, client.sessionId, Date.now())))
      throw joinRefusal(
        429,
        RejectionCode.TooManyConnections,
        `a player may hold ${config.maxConnectionsPerPlayer} connections at once`,
      );
    watchFrames(client);
    let member: Member;
    const removalsBefore = this.removals.get(auth.playerId) ?? 0;
    try {
      member = await admitMember(this.authority, auth, parsed.data);
      // A log-out-everywhere announced while this join was on its way found no member here to
      // close (revoke), and a removal found none to dismiss. From here to `userData` nothing
      // waits, so a later one finds this member.
      if (await this.revokedSince(auth.playerId, auth.generation))
        throw joinRefusal(ErrorCode.AUTH_FAILED, RejectionCode.Unauthorized, REFUSAL_WORDS.sessionRevoked);
      if ((this.removals.get(auth.playerId) ?? 0) !== removalsBefore)
        throw joinRefusal(403, RejectionCode.MemberRemoved, REFUSAL_WORDS.memberRemoved);
    } catch (error) {
      await this.connections.release(auth.playerId, client.sessionId);
      throw error;
    }
    this.expelled.delete(member.playerId);
    const state: MemberState = {
      ...member,
      bucket: this.bucketOf(member.playerId),
      seated: false,
      awaitingMarks: 0,
      generation: auth.generation,
      away: false,
      namedSession: parsed.data.session !== undefined,
      address: peerAddress(client),
      droppedAt: 0,
    };
    client.userData = state;
    this.attachView(client, state);
    // From here on every new turn reaches the client as a broadcast; one broadcast while it was
    // admitted arrived before this message and is in it too (clients merge by position).
    this.sendRecent(client, member);
    if (member.characterId) this.markPresent(member.characterId, true);
    if (member.role === "player" && member.run) {
      state.seated = true;
      // seated before the seat its lost connection kept is given up, so that one's leaving does
      // not end the play session the rejoin goes on with
      const entering = this.sessions.enter(member.run, member.playerId);
      this.giveUpKeptSeat(state);
      let recap: Awaited<ReturnType<PlaySessions["enter"]>>;
      try {
        recap = await entering;
      } catch (error) {
        // the member is in and may play; only the session marker and the recap are missing
        log.error(`universe ${this.roomId}: the session of run ${member.run.id} could not start`, {
          err: error,
          universeId: this.roomId,
        });
        this.sendRejection(
          client,
          null,
          reject(RejectionCode.Unavailable, "your play session could not start; rejoin for a recap"),
        );
        // a player's join always hears whether it has a recap: the SDK waits for it
        client.send(ServerMessage.Recap, null);
        return;
      }
      client.send(ServerMessage.Recap, recap ?? null);
    } else {
      this.giveUpKeptSeat(state);
    }
  }

  /**
   * A client session rejoined: the seat its lost connection kept is given up now, as if its window
   * had run out (onLeave follows), rather than held for a reconnection that will not come.
   */
  private giveUpKeptSeat(member: MemberState): void {
    if (!member.namedSession) return;
    const giveUp = this.kept.get(member.clientKey);
    if (!giveUp) return;
    this.kept.delete(member.clientKey);
    giveUp(false);
  }

  /**
   * A game master removed the player: their connections here close (their sessions end). A
   * connection lost before is no longer among the clients but keeps its seat for a while:
   * `expelled` refuses it the seat back even when the membership cannot be read then.
   */
  expel(playerId: string): void {
    this.expelled.add(playerId);
    this.removals.set(playerId, (this.removals.get(playerId) ?? 0) + 1);
    for (const client of this.clients) {
      if (memberOf(client)?.playerId === playerId) this.dismiss(client, CloseCode.MemberRemoved);
    }
  }

  /** Tells the game masters seated here that the members or invites changed (ServerMessage.Members). */
  membersChanged(): void {
    for (const client of this.clients) {
      if (memberOf(client)?.role === "gm") client.send(ServerMessage.Members, {});
    }
  }

  /**
   * The player logged out everywhere (or set a password): their connections admitted with an
   * older token close. One made since with a new token stays. A connection lost before is not
   * among the clients: onReconnect refuses it the seat back.
   */
  revoke(playerId: string, generation: number): void {
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member?.playerId === playerId && member.generation < generation)
        this.dismiss(client, CloseCode.SessionRevoked);
    }
  }

  /** Whether the player's tokens were revoked since `generation` (a join's, a seat's). */
  private async revokedSince(playerId: string, generation: number): Promise<boolean> {
    try {
      return (await services().generations.get(playerId)) !== generation;
    } catch (error) {
      // the database unreachable and nothing read before: a revocation this process heard of
      // would be in the cache (revocations.ts), so the token's own check at join stands
      log.warn(`universe ${this.roomId}: could not check ${playerId}'s token generation`, {
        err: error,
        universeId: this.roomId,
      });
      return false;
    }
  }

  /**
   * Every seat checked against the database: the member still admitted (not removed, not a
   * guest of a universe turned private, a game master still) and the token not revoked since the
   * join. Called when who may be here changed (the universe turned private, a branch was handed
   * to one player) and every `seatCheckMs`: a removal or a log-out-everywhere reaches the room as
   * a call or an announcement through Redis, which a process cut off from Redis then never gets.
   * One read each of the universe, its members and the seated players' generations.
   */
  async checkSeats(): Promise<void> {
    if (this.clients.length === 0) return;
    const { turnStore, memberships, accountStore, generations } = services();
    const seated = [...this.clients];
    const playerIds = new Set<string>();
    for (const client of seated) {
      const member = memberOf(client);
      if (member) playerIds.add(member.playerId);
    }
    const [universe, records, current] = await Promise.all([
      turnStore.getUniverse(this.roomId),
      memberships.listMembers(this.roomId),
      accountStore.generations([...playerIds]),
    ]);
    if (!universe) return;
    const byPlayer = new Map(records.map((record) => [record.playerId, record]));
    for (const client of seated) {
      const member = memberOf(client);
      if (!member) continue;
      const generation = current.get(member.playerId);
      if (generation !== undefined && generation > member.generation) {
        generations.raise(member.playerId, generation);
        this.dismiss(client, CloseCode.SessionRevoked);
      } else {
        const end = seatEnd(universe, member, byPlayer);
        if (end !== null) this.dismiss(client, end);
      }
    }
  }

  /** checkSeats on the room's timer: a failed read is logged and tried again at the next. */
  private async checkSeatsNow(): Promise<void> {
    if (this.checkingSeats || this.disposing) return;
    this.checkingSeats = true;
    try {
      await this.checkSeats();
    } catch (error) {
      log.warn(`universe ${this.roomId}: could not check its seats`, { err: error, universeId: this.roomId });
    } finally {
      this.checkingSeats = false;
    }
  }

  /**
   * The same seat back after a lost connection, if the member is still admitted: a game master
   * may have removed them (or handed the branch over) while the seat was empty, or the player
   * logged out everywhere, which revokes the token the seat was taken with. The turns
   * broadcast while it was empty never reached the member: the newest are sent again, as at a
   * join, and the SDK tells those it had not seen.
   */
  override async onReconnect(client: Client): Promise<void> {
    watchFrames(client);
    const member = memberOf(client);
    if (!member) return;
    // Colyseus gives the seat back to whoever brings its token, with no bearer token (no onAuth):
    // only the SDK's own retries, from where the connection was, soon after it was lost, get it;
    // anyone else (a token read off a proxy's log, another network) joins again with a bearer
    // token, which the SDK does at once
    if (!this.mayComeBack(member, client)) {
      log.info(
        `universe ${this.roomId}: ${member.playerId}'s seat token came back from elsewhere or late; asked to join again`,
        {
          universeId: this.roomId,
        },
      );
      client.leave(CloseCode.RejoinRequired);
      return;
    }
    member.droppedAt = 0;
    // a reconnection costs what a join does (the seat's checks, the recent turns): one reconnecting
    // in a loop is held to the joins a player may make, each past the limit made a join again
    const wait = services().joins?.take(`${this.roomId} ${member.playerId} reconnect`) ?? 0;
    if (wait > 0) {
      log.info(`universe ${this.roomId}: ${member.playerId} reconnected too often; asked to join again`, {
        universeId: this.roomId,
      });
      client.leave(CloseCode.RejoinRequired);
      return;
    }
    // Colyseus does not call onAuth for a reconnection: a stolen token would keep the seat for
    // as long as its holder keeps reconnecting, long after the player logged out everywhere
    if (await this.revokedSince(member.playerId, member.generation)) {
      log.info(`universe ${this.roomId}: ${member.playerId} logged out everywhere; no seat back`, {
        universeId: this.roomId,
      });
      client.leave(CloseCode.SessionRevoked);
      return;
    }
    const end = this.expelled.has(member.playerId)
      ? CloseCode.MemberRemoved
      : await this.seatEndOnReturn(member);
    if (end !== null) {
      // Colyseus ends a reconnection whose socket is no longer open (onLeave follows)
      log.info(`universe ${this.roomId}: ${member.playerId}'s seat is not given back (close ${end})`, {
        universeId: this.roomId,
      });
      client.leave(end);
      return;
    }
    // the run ended while the seat was empty (closeEndedRun did not find the connection)
    const runState = member.run ? this.authority.runState(member.run) : null;
    if (runState === "completed" || runState === "abandoned") {
      client.leave(CloseCode.RunClosed);
      return;
    }
    // its bucket may have been dropped while the seat was empty, and another made since
    member.bucket = this.bucketOf(member.playerId);
    member.away = false;
    if (member.seated && member.runId) this.sessions.returned(member.runId);
    this.sendRecent(client, member);
  }

  /** Whether a connection bringing a seat's token is the seat's own, back from a lost connection. */
  private mayComeBack(member: MemberState, client: Client): boolean {
    if (member.droppedAt === 0 || Date.now() - member.droppedAt > SEAT_TOKEN_MS) return false;
    return member.address !== undefined && peerAddress(client) === member.address;
  }

  private bucketOf(playerId: string): TokenBucket {
    let bucket = this.buckets.get(playerId);
    if (!bucket) {
      bucket = new TokenBucket(services().config.actionsPerSecond, Date.now());
      this.buckets.set(playerId, bucket);
    }
    return bucket;
  }

  /**
   * A universe open for months sees players without end; the bucket of one who is no longer here
   * and would not be refused now says nothing a new one would not.
   */
  private dropIdleBuckets(): void {
    const now = Date.now();
    const here = new Set<string>();
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member) here.add(member.playerId);
    }
    for (const [playerId, bucket] of this.buckets)
      if (!here.has(playerId) && bucket.full(now)) this.buckets.delete(playerId);
  }

  private async seatEndOnReturn(member: Member): Promise<number | null> {
    try {
      return await seatEndOnReturn(this.authority, member);
    } catch (error) {
      // the store unreachable: the seat was this member's, and a removal made here is in `expelled`
      log.warn(`universe ${this.roomId}: could not check ${member.playerId}'s membership on reconnecting`, {
        err: error,
        universeId: this.roomId,
      });
      return null;
    }
  }

  /** The newest turns, as the member may see them. */
  private sendRecent(client: Client, member: Member): void {
    const recent = this.authority.recentTurns.slice(-RECENT_TURNS);
    const viewer = viewerOf(member, this.authority.state);
    client.send(ServerMessage.Recent, {
      turns: member.role === "gm" ? recent : recent.map((turn) => memberTurn(turn, viewer)),
    } satisfies RecentMessage);
  }

  /**
   * State patches ride with turns. A turn that comes at least `patchIntervalMs` after the last
   * patch sends the next one in its own write (`patchWithTurn`); Colyseus's patch timer, which
   * also calls this every `patchIntervalMs`, sends one only when no turn has for half an interval
   * more (marks, presence). At a busy table that saves each member a write and a read per patch;
   * in a quiet universe a change is patched within two and a half intervals.
   */
  override broadcastPatch(): boolean {
    const now = performance.now();
    if (!this.patchingWithTurn && now - this.lastPatchAt < 1.5 * services().config.patchIntervalMs) {
      this.clock.tick();
      return false;
    }
    this.lastPatchAt = now;
    outputBatch.holdAll(this, this.clients);
    return super.broadcastPatch();
  }

  private patchWithTurn(): void {
    if (performance.now() - this.lastPatchAt < services().config.patchIntervalMs) return;
    this.patchingWithTurn = true;
    try {
      this.broadcastPatch();
    } finally {
      this.patchingWithTurn = false;
    }
  }

  /** Closes a connection for good: it gets no seat to come back to (see `dismissed`). */
  private dismiss(client: Client, code: number): void {
    this.dismissed.add(client);
    client.leave(code);
  }

  override async onDrop(client: Client): Promise<void> {
    // without a seat kept, Colyseus calls onLeave now: the member is no longer shown present
    if (this.dismissed.has(client)) return;
    const member = memberOf(client);
    // the client session is back on another connection already (a reloaded page whose old socket
    // closed after the new one joined): nothing will come back to this seat
    if (
      member?.namedSession &&
      this.clients.some((other) => other !== client && memberOf(other)?.clientKey === member.clientKey)
    )
      return;
    if (member) member.droppedAt = Date.now();
    if (member?.seated && member.runId) {
      member.away = true;
      this.sessions.dropped(member.runId);
    }
    const reconnection = this.allowReconnection(client, services().config.reconnectSeconds);
    const key = member?.namedSession ? member.clientKey : null;
    // typed a bare Function by Colyseus; a reconnection refused at once (the room closing) has none
    const giveUp = reconnection.reject as ((reason: unknown) => void) | undefined;
    if (key && giveUp) this.kept.set(key, giveUp);
    try {
      await reconnection;
    } finally {
      if (key && this.kept.get(key) === giveUp) this.kept.delete(key);
    }
  }

  override async onLeave(client: Client): Promise<void> {
    const member = memberOf(client);
    if (member) void this.connections.release(member.playerId, client.sessionId).catch(() => undefined);
    this.dropIdleBuckets();
    if (
      member?.characterId &&
      !this.clients.some((other) => other !== client && memberOf(other)?.characterId === member.characterId)
    ) {
      this.markPresent(member.characterId, false);
    }
    if (member?.seated && member.runId) {
      member.seated = false;
      // the room closing under its members (the process stopping, the universe moving): the
      // session was cut short, not left
      const closing = this.movedAway || !services().ownership.opensRooms;
      const ending = this.sessions.leave(member.runId, member.away, closing ? "interrupted" : "left");
      if (!ending) return;
      this.leaving.add(ending);
      await ending.finally(() => this.leaving.delete(ending));
    }
  }

  override async onDispose(): Promise<void> {
    this.disposing = true;
    const { liveStore, config, ownership } = services();
    ownership.closing(this.roomId, () => this.narration?.hurry());
    this.stopTick?.();
    if (this.seatTimer) clearInterval(this.seatTimer);
    // Seats kept for lost connections are given up as the room closes: Colyseus rejects their
    // reconnections before this runs, and their leaves (ending their sessions, turns to persist
    // like any other) start a tick later.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.leaving.size > 0) await Promise.all([...this.leaving]);
    // The lease is kept (its timer still runs) until the universe can be given up safely.
    const outcome = await handOver(this.roomId, this.authority, {
      drainMs: config.shutdownDrainMs,
      leaseTtlMs: config.leaseTtlMs,
      stopped: () => ownership.stopped,
    });
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    faults.closed("database", this.roomId);
    faults.closed("live-store", this.roomId);
    if (outcome === "kept") {
      log.error(
        `universe ${this.roomId}: the process stops with ${this.authority.pendingCount} turns neither persisted ` +
          "nor read back from the live store; its lease is left to lapse, not released",
        { universeId: this.roomId },
      );
      ownership.closed(this.roomId);
      this.tracked.close();
      return;
    }
    // After the drain, a narration of a turn just persisted can still be recorded; when the turns
    // could not be written, their narrations cannot be either, and the next owner tells them.
    await this.narration?.close(outcome === "persisted" ? Math.min(config.shutdownDrainMs, 5_000) : 0);
    // a renewal still in flight lets go of the lease too, rather than take it again
    this.authority.retire();
    await liveStore.release(this.authority.lease).catch(() => undefined);
    ownership.closed(this.roomId);
    this.tracked.close();
  }

  /** A timeline operation requested over HTTP, possibly from another process (remote room call). */
  async runOperation(name: OperationName, args: unknown[]): Promise<unknown> {
    const operation = operations[name] as (ctx: unknown, ...rest: unknown[]) => Promise<unknown>;
    return operation(
      { authority: this.authority, turnStore: services().turnStore, narration: this.narration },
      ...args,
    );
  }

  private async onUndo(client: Client, message: unknown, bytes: number): Promise<void> {
    const member = memberOf(client);
    if (!member) return;
    const taken = intake(undoMessageSchema, message, bytes, member, Date.now());
    if (!taken.ok) return this.sendRejection(client, taken.seq, taken.rejection);
    const { seq, position } = taken.body;
    const result = await operations.undo(this.context(), memberActor(member), position, {
      key: member.clientKey,
      seq,
    });
    this.answer(client, seq, member, result);
  }

  private async onRetcon(client: Client, message: unknown, bytes: number): Promise<void> {
    const member = memberOf(client);
    if (!member) return;
    const taken = intake(retconMessageSchema, message, bytes, member, Date.now());
    if (!taken.ok) return this.sendRejection(client, taken.seq, taken.rejection);
    const { seq, note, deltas } = taken.body;
    if (member.role !== "gm") {
      return this.sendRejection(client, seq, reject(RejectionCode.NotAllowed, "only game masters retcon"));
    }
    const result = await operations.retcon(this.context(), memberActor(member), note, deltas, {
      key: member.clientKey,
      seq,
    });
    this.answer(client, seq, member, result);
  }

  private context() {
    return { authority: this.authority, turnStore: services().turnStore };
  }

  private answer(
    client: Client,
    seq: number,
    member: Member,
    result: OperationResult | { ok: true; turn: Turn; duplicate: boolean },
  ): void {
    if (!result.ok) return this.sendRejection(client, seq, result.rejection);
    const state = memberOf(client);
    if (state) state.awaitingMarks = Math.max(state.awaitingMarks, result.turn.position);
    outputBatch.hold(client);
    const duplicate = "duplicate" in result ? result.duplicate : false;
    const ack: AckMessage = { seq, duplicate, position: result.turn.position };
    // a new turn was broadcast to every member, the actor too, just before this ack (in the same
    // write); a duplicate's turn may never have reached this connection
    if (duplicate)
      ack.turn =
        member.role === "gm" ? result.turn : memberTurn(result.turn, viewerOf(member, this.authority.state));
    client.send(ServerMessage.Ack, ack);
  }

  private async onAct(client: Client, message: unknown, bytes: number): Promise<void> {
    const received = performance.now();
    const member = memberOf(client);
    if (!member) return;
    const taken = intake(actMessageSchema, message, bytes, member, Date.now());
    if (!taken.ok) return this.sendRejection(client, taken.seq, taken.rejection);
    const { seq, command } = taken.body;
    if (member.role === "player" && "characterId" in command && command.characterId !== member.characterId) {
      const text = "you can only act for the character of the run you joined with";
      return this.sendRejection(client, seq, reject(RejectionCode.NotYourCharacter, text));
    }
    const result = await this.authority.submit({
      actor: memberActor(member),
      command,
      runId: member.runId,
      characterId: member.characterId,
      client: { key: member.clientKey, seq },
    });
    this.answer(client, seq, member, result);
    if (result.ok) this.tracked.timings.acted(result.turn.position, received);
  }

  private sendRejection(client: Client, seq: number | null, rejection: Rejection): void {
    outputBatch.hold(client);
    client.send(ServerMessage.Rejected, { seq, code: rejection.code, message: rejection.message });
  }

  private onTurn(turn: Turn, state: UniverseState): void {
    this.tracked.timings.turn(turn.position, turn.kind);
    const changed = touched(turn);
    if (changed.allCharacters) {
      for (const id of [...this.state.characters.keys()])
        if (!state.characters[id]) changed.characters.add(id);
      for (const id of Object.keys(state.characters)) changed.characters.add(id);
    }
    for (const id of changed.characters) {
      const character = state.characters[id];
      if (character) this.syncCharacterView(id, state, this.state.characters.get(id)?.present ?? false);
      else this.state.characters.delete(id);
    }
    if (changed.wholeScene) syncScene(this.state, state);
    else {
      if (changed.sceneFields) syncSceneFields(this.state, state);
      for (const id of changed.aspects) syncAspect(this.state, state, id);
    }
    this.state.head = turn.position;
    this.cutOffBacklogged();
    outputBatch.holdAll(this, this.clients);
    this.broadcastTurn(turn, state);
    this.closeEndedRun(turn);
    this.patchWithTurn();
    // prose waiting to leave joins this turn's write to each member
    this.narrationOutput.flush();
    this.narration?.enqueue(turn, state, this.authority.recentTurns);
    if (this.authority.pendingCount >= services().config.persistBatch) void this.authority.flush();
  }

  /**
   * Cuts off the members too far behind to be sent another turn (LOOM_CLIENT_BACKLOG_KB), checked
   * as each turn is sent: what else goes out (patches, durable marks, prose) follows turns. Each
   * reconnects to its seat like any dropped client, and is sent the recent turns and the state.
   */
  private cutOffBacklogged(): void {
    const limit = services().config.clientBacklogBytes;
    for (const client of this.clients) {
      if (!cutOffBacklogged(client, limit)) continue;
      const member = memberOf(client);
      log.warn(`cut off a connection more than ${limit / 1024} KB behind`, {
        universeId: this.roomId,
        playerId: member?.playerId,
        sessionId: client.sessionId,
      });
    }
  }

  /**
   * A run ended (completed or abandoned, by a game master, its player elsewhere, over HTTP): its
   * player's connections here close with `RunClosed`, after the turn that ended it, and leave no
   * seat to come back to (their session ends). Seated on, they would only meet `run_not_active`.
   */
  private closeEndedRun(turn: Turn): void {
    const { kind, runId } = turn.input;
    if (kind !== "run_end" || typeof runId !== "string") return;
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member?.role === "player" && member.runId === runId) this.dismiss(client, CloseCode.RunClosed);
    }
  }

  /**
   * One encoding per audience: GMs get the whole turn, everyone else what visibility.ts shows the
   * public. A turn carrying a character's owner-only members (its arrival, a GM's private note
   * for it) is encoded once more for that character's player; such turns are rare.
   */
  private broadcastTurn(turn: Turn, state: UniverseState): void {
    const gms: Client[] = [];
    const owners = new Set<string>();
    for (const id of ownerOnlyCharacters({ ...turn, deltas: [] })) {
      const owner = ownerOf(state, id);
      if (owner !== undefined) owners.add(owner);
    }
    const ownersClients = new Map<string, { member: Member; clients: Client[] }>();
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member?.role === "gm") gms.push(client);
      else if (member?.role === "player" && owners.has(member.playerId)) {
        const entry = ownersClients.get(member.playerId) ?? { member, clients: [] };
        entry.clients.push(client);
        ownersClients.set(member.playerId, entry);
      }
    }
    const except = [...gms, ...[...ownersClients.values()].flatMap((entry) => entry.clients)];
    this.broadcastBytes(ServerMessage.Turn, encodeMemberTurnMessage(memberTurn(turn, SPECTATOR)), { except });
    for (const { member, clients } of ownersClients.values()) {
      const own = encodeMemberTurnMessage(memberTurn(turn, viewerOf(member, state)));
      for (const client of clients) client.sendBytes(ServerMessage.Turn, own);
    }
    if (gms.length > 0) {
      const full = encodeTurnMessage(turn);
      for (const gm of gms) gm.sendBytes(ServerMessage.Turn, full);
    }
  }

  /**
   * Narration for this universe: prose follows each turn, and turns a previous owner left
   * unnarrated are told now (they are recorded once: the store keeps the first narration).
   */
  private startNarration(): void {
    const { narrator, config, narrationRecords } = services();
    if (!narrator) return;
    const authority = this.authority;
    this.narration = new UniverseNarration({
      universeId: this.roomId,
      branchPosition: authority.universe.branchPosition ?? 0,
      narrator,
      concurrency: config.narrator.concurrency,
      backlog: config.narrator.backlog,
      // one attempt's time, retries included, and an answer within the SDK's 30 s for the request
      retellWithinMs: Math.min(config.narrator.timeoutMs, 25_000),
      send: (message, audience, first) => this.narrationOutput.push(message, audience, first),
      told: (narrator, ms, failure) => services().metrics.narrated(narrator, ms, failure),
      record: async (position, narration) => {
        // called once the table has heard the telling end (its `done` message went out before)
        if (authority.attachNarration(position, narration)) return;
        await authority.whenPersisted(position);
        await narrationRecords.record(authority.universe.id, position, narration);
      },
    });
    // the template's prose is told as each turn is made and leaves inside the turn: no message
    // of its own to every member, no record written after the turn's
    const narration = this.narration;
    if (narrator.tellNow) authority.setTeller((turn, state) => narration.tellAtOnce(turn, state));
    const { turnStore } = services();
    const universeId = authority.universe.id;
    const recovered = this.narration.recover(authority.recentTurns, authority.state, {
      untold: async (after, through, limit, count) => {
        // the turns before the window may still be on their way from the live store's tail
        await authority.whenPersisted(through);
        return turnStore.untoldTurns(universeId, { after, through, limit, count });
      },
      between: (from, to) => turnStore.turnsBetween(universeId, from, to),
      stateAt: async (position) => (await turnStore.stateWithoutChecksum(universeId, position)).state,
    });
    if (recovered > 0)
      log.info(`universe ${this.roomId}: narrating ${recovered} turns left unnarrated`, {
        universeId: this.roomId,
      });
  }

  private sendNarration(messages: readonly NarrationMessage[], audience: Audience): void {
    outputBatch.holdAll(this, this.clients);
    if (audience === "table") {
      for (const message of messages) this.broadcast(ServerMessage.Narration, message);
      return;
    }
    for (const client of this.clients) {
      if (memberOf(client)?.role !== "gm") continue;
      for (const message of messages) client.send(ServerMessage.Narration, message);
    }
  }

  /**
   * Keeps the lease (UniverseAuthority.keepLease: renewed, or taken again when it lapsed and
   * nobody else holds it). Only when another owner holds it does this room give the universe up.
   */
  private async renewLease(): Promise<void> {
    const now = Date.now();
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member) void this.connections.renew(member.playerId, client.sessionId, now).catch(() => undefined);
    }
    try {
      if (services().ownership.stopped) return; // the stores are closing
      if ((await this.authority.keepLease(services().config.leaseTtlMs)) !== "elsewhere") return;
      if (this.disposing) return;
      log.warn(`lost the lease on universe ${this.roomId} to another process`, { universeId: this.roomId });
      this.movedAway = true;
      void this.disconnect(CloseCode.UniverseMoved);
    } catch (error) {
      if (!this.disposing) faults.failed("live-store", error, { universeId: this.roomId });
    }
  }

  private markDurable(): void {
    this.state.durableThrough = this.authority.durableThrough;
    this.state.persistedThrough = this.authority.persistedThrough;
  }

  private broadcastDurable(): void {
    const { durableThrough, persistedThrough } = this.authority;
    const last = this.announced;
    if (last.durableThrough === durableThrough && last.persistedThrough === persistedThrough) return;
    this.announced = { durableThrough, persistedThrough };
    this.markDurable();
    // Only to members waiting on a mark for a turn of theirs; everyone else reads the marks in the
    // synced state. At a busy table that is a few members a tick instead of every one. Every one of
    // them gets the same bytes, encoded once (a `send` per member would encode the marks again).
    const marks = { durableThrough, persistedThrough };
    let bytes: Uint8Array | undefined;
    for (const client of this.clients) {
      const member = memberOf(client);
      if (!member || member.awaitingMarks === 0) continue;
      outputBatch.hold(client);
      bytes ??= getMessageBytes.raw(Protocol.ROOM_DATA, ServerMessage.Durable, marks);
      client.enqueueRaw(bytes);
      if (persistedThrough >= member.awaitingMarks) member.awaitingMarks = 0;
    }
  }

  private project(): void {
    const { universe, state } = this.authority;
    this.state.universeId = universe.id;
    this.state.name = universe.name;
    this.state.parentId = universe.parentId ?? "";
    this.state.branchPosition = universe.branchPosition ?? 0;
    this.state.narrated = services().narrator !== null;
    this.state.head = this.authority.head;
    this.state.durableThrough = this.authority.durableThrough;
    this.state.persistedThrough = this.authority.persistedThrough;
    syncScene(this.state, state);
    for (const id of Object.keys(state.characters)) this.syncCharacterView(id, state, false);
  }

  /** Updates a character's synced view; a new one is shown to GMs and to its owner's clients. */
  private syncCharacterView(id: string, state: UniverseState, present: boolean): void {
    const isNew = !this.state.characters.has(id);
    const view = syncCharacter(this.state, state.characters[id]!, present);
    if (!isNew) return;
    this.gmView.add(view, VIEW_TAG.GM);
    this.gmView.add(view, VIEW_TAG.OWNER);
    for (const client of this.clients) {
      const member = memberOf(client);
      if (member?.characterId === id && member.role === "player") client.view?.add(view, VIEW_TAG.OWNER);
    }
  }

  private attachView(client: Client, member: Member): void {
    if (member.role === "gm") {
      client.view = this.gmView;
      return;
    }
    client.view = new StateView();
    const own = member.characterId ? this.state.characters.get(member.characterId) : undefined;
    if (member.role === "player" && own) client.view.add(own, VIEW_TAG.OWNER);
  }

  private markPresent(characterId: string, present: boolean): void {
    const view = this.state.characters.get(characterId);
    if (view) view.present = present;
  }
}
