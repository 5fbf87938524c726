import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import {
  creditCompletedRun,
  projectTurns,
  revokeCompletedRun,
  runsTouched,
  undoTargetOf,
  type CreditChange,
  type RunTally,
  type SessionChange,
  type Turn,
} from "@loom/shared";
import { rowsOf, toProgression, toRun, type Db } from "./rows.ts";
import { playSessions, progression, runs, turns as turnsTable } from "./schema.ts";

/** One universe's appended turns, as the append transaction projects them. */
export interface Appended {
  universeId: string;
  /** Turns at or before it are a branch's parent's: no run of this universe is in them. */
  branchPosition: number;
  turns: readonly Turn[];
}

/**
 * Runs, play sessions and progression follow the turns appended (shared `projectTurns`), in the
 * transaction that appends them: a record changes if and only if the turn that changes it is
 * persisted, once, whichever process persists it. The runs touched are locked while they change,
 * so two universes' completions of one player cannot lose each other's credit.
 */
export async function projectAppended(
  tx: Db,
  batches: readonly Appended[],
  locked?: readonly RunRow[],
): Promise<void> {
  const targets = await undoTargets(tx, batches);
  const work = batches.map((batch) => {
    const own = new Map(batch.turns.map((turn) => [turn.position, turn]));
    const targetOf = (position: number): Turn | undefined =>
      own.get(position) ?? targets.get(`${batch.universeId}@${position}`);
    return { batch, targetOf, runIds: runsTouched(batch.turns, targetOf) };
  });
  const ids = [...new Set(work.flatMap((item) => item.runIds))];
  if (ids.length === 0) return;
  const lockedIds = new Set(locked?.map((row) => row.id));
  const rows = locked && ids.every((id) => lockedIds.has(id)) ? locked : await lockRuns(tx, ids);
  const tallies = new Map<string, RunTally>(rows.map((row) => [row.id, toRun(row)]));

  const changed = new Map<string, RunTally>();
  const sessions: SessionChange[] = [];
  const credits: CreditChange[] = [];
  for (const { batch, targetOf, runIds } of work) {
    const mine = new Map<string, RunTally>();
    for (const id of runIds) {
      const run = changed.get(id) ?? tallies.get(id);
      if (run && run.universeId === batch.universeId) mine.set(id, run);
    }
    if (mine.size === 0) continue;
    const projected = projectTurns(mine, batch.turns, targetOf);
    for (const [id, run] of projected.runs) changed.set(id, run);
    sessions.push(...projected.sessions);
    credits.push(...projected.credits);
  }
  // the runs and the sessions are separate rows: their statements leave together (one round trip
  // on Postgres); a session's own statements stay in order (opened before it is closed)
  await Promise.all([writeRuns(tx, [...changed.values()]), writeSessions(tx, sessions)]);
  for (const credit of credits) await writeCredit(tx, credit);
}

type RunRow = typeof runs.$inferSelect;

/**
 * The runs the batches' turns touch, when the turns alone tell: no undo among them reaches back
 * before its batch (the turn it undoes would have to be read first). An append locks them with its
 * first statements, beside the heads, and hands them to `projectAppended`, which then has nothing
 * to read before it writes: a round trip fewer a commit. Null when an undo reaches back.
 */
export function runsTouchedBy(batches: ReadonlyArray<Pick<Appended, "turns">>): string[] | null {
  const ids = new Set<string>();
  for (const { turns } of batches) {
    const first = turns[0]?.position ?? Infinity;
    const own = new Map(turns.map((turn) => [turn.position, turn]));
    for (const turn of turns) {
      const target = undoTargetOf(turn);
      if (target !== null && target < first) return null;
    }
    for (const id of runsTouched(turns, (position) => own.get(position))) ids.add(id);
  }
  return [...ids];
}

/** The runs, locked until the transaction ends, in one order for every writer (no deadlock). */
export async function lockRuns(tx: Db, ids: readonly string[]): Promise<RunRow[]> {
  if (ids.length === 0) return [];
  return tx
    .select()
    .from(runs)
    .where(inArray(runs.id, [...ids]))
    .orderBy(runs.id)
    .for("update");
}

/** The turns undone by the batches' undo turns that are not in the batches themselves. */
async function undoTargets(tx: Db, batches: readonly Appended[]): Promise<Map<string, Turn>> {
  const wanted: Array<{ universeId: string; position: number }> = [];
  for (const batch of batches) {
    const first = batch.turns[0]?.position ?? Infinity;
    for (const turn of batch.turns) {
      const position = undoTargetOf(turn);
      if (position !== null && position < first && position > batch.branchPosition)
        wanted.push({ universeId: batch.universeId, position });
    }
  }
  const found = new Map<string, Turn>();
  if (wanted.length === 0) return found;
  const rows = rowsOf<Pick<Turn, "universeId" | "position" | "kind" | "runId" | "input">>(
    await tx.execute(sql`
      select t.universe_id as "universeId", t.position, t.kind, t.run_id as "runId", t.input
      from ${turnsTable} t
      join jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) as w("universeId" text, "position" integer)
        on t.universe_id = w."universeId" and t.position = w."position"`),
  );
  for (const row of rows) found.set(`${row.universeId}@${row.position}`, row as Turn);
  return found;
}

async function writeRuns(tx: Db, changed: RunTally[]): Promise<void> {
  if (changed.length === 0) return;
  await tx.execute(sql`
    update ${runs} r set
      state = v.state::run_state, turn_count = v."turnCount", session_count = v."sessionCount",
      milestones = v.milestones, completion_reason = v."completionReason",
      completed_at_position = v."completedAtPosition",
      last_session_end_position = v."lastSessionEndPosition", updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) as v(
      id text, state text, "turnCount" integer, "sessionCount" integer, milestones integer,
      "completionReason" text, "completedAtPosition" integer, "lastSessionEndPosition" integer)
    where r.id = v.id`);
}

async function writeSessions(tx: Db, changes: SessionChange[]): Promise<void> {
  for (const change of changes) {
    if (change.kind === "open") {
      await tx
        .insert(playSessions)
        .values({
          id: change.id,
          runId: change.runId,
          universeId: change.universeId,
          startPosition: change.startPosition,
          startedAt: new Date(change.startedAt),
        })
        .onConflictDoNothing();
      continue;
    }
    await tx
      .update(playSessions)
      .set({
        endPosition: change.endPosition,
        summary: change.summary,
        endReason: change.reason,
        endedAt: new Date(change.endedAt),
      })
      .where(
        and(
          eq(playSessions.runId, change.runId),
          isNull(playSessions.endPosition),
          lt(playSessions.startPosition, change.endPosition),
        ),
      );
  }
}

/** Credits or revokes a completion with the player's progression row locked. */
async function writeCredit(tx: Db, credit: CreditChange): Promise<void> {
  const { run } = credit;
  await tx
    .insert(progression)
    .values({ playerId: run.playerId, updatedAt: new Date(0) })
    .onConflictDoNothing();
  const [row] = await tx
    .select()
    .from(progression)
    .where(eq(progression.playerId, run.playerId))
    .for("update");
  const current = toProgression(row!);
  const next =
    credit.kind === "credit"
      ? creditCompletedRun(current, run, { now: credit.at })
      : revokeCompletedRun(current, run, {
          now: credit.at,
          completedRuns: (
            await tx
              .select()
              .from(runs)
              .where(and(eq(runs.playerId, run.playerId), eq(runs.state, "completed")))
          ).map(toRun),
        });
  if (next === current) return;
  const { playerId: _key, ...fields } = { ...next, updatedAt: new Date(next.updatedAt) };
  await tx.update(progression).set(fields).where(eq(progression.playerId, run.playerId));
}
