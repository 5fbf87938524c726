import { and, asc, eq } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { creditCompletedRun, revokeCompletedRun } from "@loom/shared";
import { toCharacter, toPlayer, toProgression, toRun, toSession } from "./rows.ts";
import type { Db } from "./rows.ts";
import { characters, playSessions, players, progression, runs } from "./schema.ts";
import { NotFoundError } from "./turn-store.ts";
import type {
  CharacterRecord,
  PlaySessionRecord,
  PlayerRecord,
  ProgressionRecord,
  RunRecord,
  TurnStore,
} from "./turn-store.ts";

type RunPatch = Parameters<TurnStore["updateRun"]>[1];

/** Players, characters, runs, play sessions and progression: plain rows, no timeline logic. */
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

  async updateRun(id: string, patch: RunPatch): Promise<RunRecord> {
    const { updatedAt: _ignored, ...fields } = patch;
    const [row] = await this.db
      .update(runs)
      .set({ ...fields, updatedAt: this.clock() })
      .where(eq(runs.id, id))
      .returning();
    if (!row) throw new NotFoundError("run", id);
    return toRun(row);
  }

  async startSession(
    session: Pick<PlaySessionRecord, "id" | "runId" | "universeId" | "startPosition">,
  ): Promise<PlaySessionRecord> {
    const [row] = await this.db
      .insert(playSessions)
      .values({ ...session, startedAt: this.clock() })
      .returning();
    return toSession(row!);
  }

  async endSession(id: string, end: { endPosition: number; summary: string }): Promise<PlaySessionRecord> {
    const [row] = await this.db
      .update(playSessions)
      .set({ ...end, endedAt: this.clock() })
      .where(eq(playSessions.id, id))
      .returning();
    if (!row) throw new NotFoundError("play session", id);
    return toSession(row);
  }

  async listSessions(runId: string): Promise<PlaySessionRecord[]> {
    const rows = await this.db
      .select()
      .from(playSessions)
      .where(eq(playSessions.runId, runId))
      .orderBy(asc(playSessions.startPosition), asc(playSessions.startedAt));
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

  async putProgression(record: ProgressionRecord): Promise<void> {
    const row = { ...record, updatedAt: new Date(record.updatedAt) };
    const { playerId: _key, ...fields } = row;
    await this.db
      .insert(progression)
      .values(row)
      .onConflictDoUpdate({ target: progression.playerId, set: fields });
  }

  /**
   * Credits a completed run to its player's progression in one transaction, the row locked while
   * it is read and written: two completions at once cannot lose each other's credit, and a run
   * already credited changes nothing.
   */
  creditCompletion(run: RunRecord, now: string): Promise<ProgressionRecord> {
    return this.changeProgression(run.playerId, async (current) => creditCompletedRun(current, run, { now }));
  }

  /** Reverses a completion's credit (its turn was undone), under the same lock. */
  revokeCompletion(run: RunRecord, now: string): Promise<ProgressionRecord> {
    return this.changeProgression(run.playerId, async (current, tx) => {
      const completedRuns = (
        await tx
          .select()
          .from(runs)
          .where(and(eq(runs.playerId, run.playerId), eq(runs.state, "completed")))
      ).map(toRun);
      return revokeCompletedRun(current, { ...run, state: "completed" }, { now, completedRuns });
    });
  }

  private changeProgression(
    playerId: string,
    change: (current: ProgressionRecord, tx: Db) => Promise<ProgressionRecord>,
  ): Promise<ProgressionRecord> {
    return this.db.transaction(async (tx) => {
      await tx
        .insert(progression)
        .values({ playerId, updatedAt: new Date(0) })
        .onConflictDoNothing();
      const [row] = await tx
        .select()
        .from(progression)
        .where(eq(progression.playerId, playerId))
        .for("update");
      const current = toProgression(row!);
      const next = await change(current, tx);
      if (next === current) return current;
      const { playerId: _key, ...fields } = { ...next, updatedAt: new Date(next.updatedAt) };
      await tx.update(progression).set(fields).where(eq(progression.playerId, playerId));
      return next;
    });
  }
}
