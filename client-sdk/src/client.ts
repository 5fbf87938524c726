import { Client } from "@colyseus/sdk";
import type {
  CharacterSheetInput,
  Delta,
  DiceDisclosure,
  JoinRole,
  ProgressionRecord,
  Recap,
  RunRecord,
  Snapshot,
  TimelinePage,
  TimelineQuery,
  PublicUniverse,
  Turn,
  UniverseState,
} from "@loom/shared";

/** A universe as the server shows it: no dice secret, no settings (see `dice`, `revealDice`). */
export type Universe = PublicUniverse;
export type Run = RunRecord;
export type Progression = ProgressionRecord;
export type { TimelinePage };
import { LoomError, query, request } from "./http.ts";
import { checkKeepTurns, UniverseSession } from "./session.ts";

export type HistoryQuery = TimelineQuery;

/** The entry point: one Loom server, one player identity. Works in Node (≥ 20) and browsers. */
export class LoomClient {
  readonly colyseus: Client;
  private token: string | null = null;

  constructor(readonly url: string) {
    this.colyseus = new Client(url);
  }

  get playerToken(): string | null {
    return this.token;
  }

  /** Uses an existing player token (e.g. one kept from an earlier registration). */
  useToken(token: string): this {
    this.token = token;
    this.colyseus.auth.token = token;
    return this;
  }

  async registerPlayer(name: string): Promise<{ player: { id: string; name: string }; token: string }> {
    const result = await request<{ player: { id: string; name: string }; token: string }>(
      this.url,
      "POST",
      "/api/players",
      null,
      { name },
    );
    this.useToken(result.token);
    return result;
  }

  /** The server draws the universe's dice secret; `diceCommitment` is its published sha256. */
  async createUniverse(input: { name: string; premise?: string }): Promise<Universe> {
    return (await request<{ universe: Universe }>(this.url, "POST", "/api/universes", this.token, input))
      .universe;
  }

  async getUniverse(id: string): Promise<Universe> {
    return (
      await request<{ universe: Universe }>(
        this.url,
        "GET",
        `/api/universes/${encodeURIComponent(id)}`,
        this.token,
      )
    ).universe;
  }

  async listUniverses(): Promise<Universe[]> {
    return (await request<{ universes: Universe[] }>(this.url, "GET", "/api/universes", this.token))
      .universes;
  }

  /** Creates a character in a universe and starts its run. */
  async createCharacter(
    universeId: string,
    sheet: CharacterSheetInput & { therapeuticFocus?: string },
  ): Promise<{ character: { id: string; name: string }; run: Run }> {
    return request(
      this.url,
      "POST",
      `/api/universes/${encodeURIComponent(universeId)}/characters`,
      this.token,
      sheet,
    );
  }

  /** Joins a universe live. Players pass the run they play; GMs and spectators only the role. */
  async joinUniverse(
    universeId: string,
    options: {
      role: JoinRole;
      runId?: string;
      /** How many of the newest turns `session.turns` holds (default 1,000); older ones: `history`. */
      keepTurns?: number;
    },
  ): Promise<UniverseSession> {
    const { keepTurns, ...join } = options;
    if (keepTurns !== undefined) checkKeepTurns(keepTurns); // before joining, not after
    await request(this.url, "POST", `/api/universes/${encodeURIComponent(universeId)}/open`, this.token, {});
    try {
      const room = await this.colyseus.joinById(universeId, join);
      const session = new UniverseSession(room, keepTurns);
      await session.ready;
      return session;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = /^([a-z_]+): /.exec(message)?.[1] ?? "join_failed";
      throw new LoomError(code, message, (error as { code?: number }).code);
    }
  }

  async history(universeId: string, page: HistoryQuery = {}): Promise<TimelinePage> {
    return request(
      this.url,
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/timeline${query({ ...page })}`,
      this.token,
    );
  }

  async turn(universeId: string, position: number): Promise<Turn> {
    return (
      await request<{ turn: Turn }>(
        this.url,
        "GET",
        `/api/universes/${encodeURIComponent(universeId)}/turns/${position}`,
        this.token,
      )
    ).turn;
  }

  async run(runId: string): Promise<Run> {
    return (
      await request<{ run: Run }>(this.url, "GET", `/api/runs/${encodeURIComponent(runId)}`, this.token)
    ).run;
  }

  /** "Last time on…" for a run as of now (the same timeline always gives the same recap). */
  async recap(runId: string): Promise<Recap> {
    return request(this.url, "GET", `/api/runs/${encodeURIComponent(runId)}/recap`, this.token);
  }

  async pauseRun(runId: string): Promise<Run> {
    return (
      await request<{ run: Run }>(
        this.url,
        "POST",
        `/api/runs/${encodeURIComponent(runId)}/pause`,
        this.token,
        {},
      )
    ).run;
  }

  /** Resumes a paused or abandoned run. */
  async resumeRun(runId: string): Promise<Run> {
    return (
      await request<{ run: Run }>(
        this.url,
        "POST",
        `/api/runs/${encodeURIComponent(runId)}/resume`,
        this.token,
        {},
      )
    ).run;
  }

  async completeRun(runId: string, reason = "retired"): Promise<{ run: Run; turn: Turn }> {
    return request(this.url, "POST", `/api/runs/${encodeURIComponent(runId)}/complete`, this.token, {
      reason,
    });
  }

  async abandonRun(runId: string): Promise<{ run: Run; turn: Turn }> {
    return request(this.url, "POST", `/api/runs/${encodeURIComponent(runId)}/abandon`, this.token, {});
  }

  /** A new run of one of your existing characters (e.g. in a branch). */
  async startRun(universeId: string, characterId: string): Promise<Run> {
    return (
      await request<{ run: Run }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/runs`,
        this.token,
        { characterId },
      )
    ).run;
  }

  async progression(): Promise<Progression> {
    return (await request<{ progression: Progression }>(this.url, "GET", "/api/me/progression", this.token))
      .progression;
  }

  /** GM: branch the universe after `position` into a new universe (copy-on-write). */
  async branch(universeId: string, position: number, name?: string): Promise<Universe> {
    return (
      await request<{ universe: Universe }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/branch`,
        this.token,
        { position, name },
      )
    ).universe;
  }

  /**
   * The commitments of a timeline's dice, with the secrets of the universes that revealed theirs:
   * pass it to `verifyDice` with the timeline's turns to check every roll.
   */
  async dice(universeId: string): Promise<DiceDisclosure> {
    return (
      await request<{ dice: DiceDisclosure }>(
        this.url,
        "GET",
        `/api/universes/${encodeURIComponent(universeId)}/dice`,
        this.token,
      )
    ).dice;
  }

  /** GM: reveals the universe's dice secret, typically when its campaign ends; it rolls no more. */
  async revealDice(universeId: string): Promise<DiceDisclosure> {
    return (
      await request<{ dice: DiceDisclosure }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/reveal`,
        this.token,
        {},
      )
    ).dice;
  }

  /** Undo over HTTP: a GM the latest applied turn (or `position`), a player their own latest. */
  async undo(universeId: string, position?: number): Promise<Turn> {
    return (
      await request<{ turn: Turn }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/undo`,
        this.token,
        position === undefined ? {} : { position },
      )
    ).turn;
  }

  /** GM: a checksummed snapshot of the current state; returns its position. */
  async snapshot(universeId: string): Promise<number> {
    return (
      await request<{ position: number }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/snapshots`,
        this.token,
        {},
      )
    ).position;
  }

  /** GM: a retcon over HTTP. */
  async retcon(universeId: string, note: string, deltas: Delta[] = []): Promise<Turn> {
    return (
      await request<{ turn: Turn }>(
        this.url,
        "POST",
        `/api/universes/${encodeURIComponent(universeId)}/retcon`,
        this.token,
        { note, deltas },
      )
    ).turn;
  }

  /** The universe's state at a position (GM only), with its checksum. */
  async stateAt(
    universeId: string,
    position?: number,
  ): Promise<{ position: number; state: UniverseState; checksum: string }> {
    return request(
      this.url,
      "GET",
      `/api/universes/${encodeURIComponent(universeId)}/state${query({ position })}`,
      this.token,
    );
  }
}

export function connect(url: string): LoomClient {
  return new LoomClient(url);
}

export type { Snapshot };
