import { and, asc, eq, isNull } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { toCharacter, toPlayer, toProgression, toRun, toSession } from "./rows.ts";
import type { Db } from "./rows.ts";
import { characters, playSessions, players, progression, runs } from "./schema.ts";
import type {
  CharacterRecord,
  PlaySessionRecord,
  PlayerRecord,
  ProgressionRecord,
  RunRecord,
} from "./turn-store.ts";

/**
 * Players, characters, runs, play sessions and progression. Players, characters and new runs are
 * written here; everything else about runs, sessions and progression follows the timeline and is
 * written by the append transaction (project.ts).
 */
export class Records {
  constructor(
    protected readonly db: Db,
    protected readonly clock: () => Date,
  ) {}

  async createPlayer(player: { id: string; name: string }): Promise<PlayerRecord> {
    const [row] = await this.db
      .insert(players)
      .values({ ...player, createdAt: this.clock() })
      .returning();
    return toPlayer(row!);
  }

  async getPlayer(id: string): Promise<PlayerRecord | null> {
    const [row] = await this.db.select().from(players).where(eq(players.id, id));
    return row ? toPlayer(row) : null;
  }

  async createCharacter(character: Omit<CharacterRecord, "createdAt">): Promise<CharacterRecord> {
    const [row] = await this.db
      .insert(characters)
      .values({ ...character, createdAt: this.clock() })
      .returning();
    return toCharacter(row!);
  }

  async getCharacter(id: string): Promise<CharacterRecord | null> {
    const [row] = await this.db.select().from(characters).where(eq(characters.id, id));
    return row ? toCharacter(row) : null;
  }

  async createRun(
    run: Pick<RunRecord, "id" | "playerId" | "characterId" | "universeId" | "therapeuticFocus">,
  ): Promise<RunRecord> {
    const now = this.clock();
    const [row] = await this.db
      .insert(runs)
      .values({ ...run, createdAt: now, updatedAt: now })
      .returning();
    return toRun(row!);
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const [row] = await this.db.select().from(runs).where(eq(runs.id, id));
    return row ? toRun(row) : null;
  }

  async listRuns(filter: {
    playerId?: string;
    universeId?: string;
    characterId?: string;
  }): Promise<RunRecord[]> {
    const where: SQL[] = [];
    if (filter.playerId !== undefined) where.push(eq(runs.playerId, filter.playerId));
    if (filter.universeId !== undefined) where.push(eq(runs.universeId, filter.universeId));
    if (filter.characterId !== undefined) where.push(eq(runs.characterId, filter.characterId));
    const rows = await this.db
      .select()
      .from(runs)
      .where(and(...where))
      .orderBy(asc(runs.createdAt), asc(runs.id));
    return rows.map(toRun);
  }

  async listSessions(runId: string): Promise<PlaySessionRecord[]> {
    const rows = await this.db
      .select()
      .from(playSessions)
      .where(eq(playSessions.runId, runId))
      .orderBy(asc(playSessions.startPosition), asc(playSessions.startedAt));
    return rows.map(toSession);
  }

  async openSessions(universeId: string): Promise<PlaySessionRecord[]> {
    const rows = await this.db
      .select()
      .from(playSessions)
      .where(and(eq(playSessions.universeId, universeId), isNull(playSessions.endPosition)))
      .orderBy(asc(playSessions.startPosition));
    return rows.map(toSession);
  }

  /** A player with no completed run yet has the empty progression. */
  async getProgression(playerId: string): Promise<ProgressionRecord> {
    const [row] = await this.db.select().from(progression).where(eq(progression.playerId, playerId));
    if (row) return toProgression(row);
    return {
      playerId,
      runsCompleted: 0,
      turnsInCompletedRuns: 0,
      milestones: 0,
      metaconcepts: [],
      completedRunIds: [],
      unlocks: [],
      updatedAt: new Date(0).toISOString(),
    };
  }
}
