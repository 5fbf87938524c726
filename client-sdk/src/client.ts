import { Client } from "@colyseus/sdk";
import type { CharacterSheetInput, JoinRole, Snapshot, Turn, TurnKind, UniverseState } from "@loom/shared";
import { LoomError, query, request } from "./http.ts";
import { UniverseSession } from "./session.ts";

export interface Universe {
  id: string;
  name: string;
  seed: number;
  parentId: string | null;
  branchPosition: number | null;
  headPosition: number;
  createdBy: string;
  createdAt: string;
}

export interface Run {
  id: string;
  playerId: string;
  characterId: string;
  universeId: string;
  state: "active" | "paused" | "completed" | "abandoned";
  turnCount: number;
  sessionCount: number;
}

export interface TimelinePage {
  turns: Turn[];
  nextCursor: number | null;
}

export interface HistoryQuery {
  cursor?: number;
  limit?: number;
  order?: "asc" | "desc";
  characterId?: string;
  runId?: string;
  kind?: TurnKind;
  q?: string;
}

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
    const result = await request<{ player: { id: string; name: string }; token: string }>(this.url, "POST", "/api/players", null, { name });
    this.useToken(result.token);
    return result;
  }

  async createUniverse(input: { name: string; premise?: string; seed?: number }): Promise<Universe> {
    return (await request<{ universe: Universe }>(this.url, "POST", "/api/universes", this.token, input)).universe;
  }

  async getUniverse(id: string): Promise<Universe> {
    return (await request<{ universe: Universe }>(this.url, "GET", `/api/universes/${encodeURIComponent(id)}`, this.token)).universe;
  }

  async listUniverses(): Promise<Universe[]> {
    return (await request<{ universes: Universe[] }>(this.url, "GET", "/api/universes", this.token)).universes;
  }

  /** Creates a character in a universe and starts its run. */
  async createCharacter(universeId: string, sheet: CharacterSheetInput & { therapeuticFocus?: string }): Promise<{ character: { id: string; name: string }; run: Run }> {
    return request(this.url, "POST", `/api/universes/${encodeURIComponent(universeId)}/characters`, this.token, sheet);
  }

  /** Joins a universe live. Players pass the run they play; GMs and spectators only the role. */
  async joinUniverse(universeId: string, options: { role: JoinRole; runId?: string }): Promise<UniverseSession> {
    await request(this.url, "POST", `/api/universes/${encodeURIComponent(universeId)}/open`, this.token, {});
    try {
      const room = await this.colyseus.joinById(universeId, options);
      const session = new UniverseSession(room);
      await session.ready;
      return session;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = /^([a-z_]+): /.exec(message)?.[1] ?? "join_failed";
      throw new LoomError(code, message, (error as { code?: number }).code);
    }
  }

  async history(universeId: string, page: HistoryQuery = {}): Promise<TimelinePage> {
    return request(this.url, "GET", `/api/universes/${encodeURIComponent(universeId)}/timeline${query({ ...page })}`, this.token);
  }

  async turn(universeId: string, position: number): Promise<Turn> {
    return (await request<{ turn: Turn }>(this.url, "GET", `/api/universes/${encodeURIComponent(universeId)}/turns/${position}`, this.token)).turn;
  }

  /** The universe's state at a position (GM only), with its checksum. */
  async stateAt(universeId: string, position?: number): Promise<{ position: number; state: UniverseState; checksum: string }> {
    return request(this.url, "GET", `/api/universes/${encodeURIComponent(universeId)}/state${query({ position })}`, this.token);
  }
}

export function connect(url: string): LoomClient {
  return new LoomClient(url);
}

export type { Snapshot };
