import { and, eq, sql } from "drizzle-orm";
import type { Turn } from "@loom/shared";
import { errorClass, safeMessage } from "../describe-error.ts";
import { rowsOf, type Db } from "./rows.ts";
import { inheritedUndos, turns, universes } from "./schema.ts";
import { AppendConflictError, NotFoundError } from "./turn-store.ts";
import type { TurnStore } from "./turn-store.ts";
import { copyMadeRows } from "./copy.ts";
import { rowChecks } from "./row-checks.ts";
import { TURN_COLUMNS, turnRow } from "./turn-rows.ts";
import { upsertSnapshots } from "./snapshot-writes.ts";
import { lockRuns, projectAppended, runsTouchedBy } from "./project.ts";
import type { AppendBatch, AppendOutcome, AppendRequest } from "./turn-store.ts";

/** Turns per piece of an append's COPY: a piece's text is made whole before it is sent. */
const PIECE = 200;
/**
 * The fewest turns a COPY takes without the foreign key's check: turning it off and on again costs
 * two round trips, which on a busy process are two waits for its loop, more than the checks of a
 * few hundred rows.
 */
const UNCHECKED_FROM = 1_000;

/*
 * FIRST_FLIGHT: an append moves the head, upserts its snapshots and locks the runs its turns touch
 * (when the turns alone name them: project.ts, runsTouchedBy) in statements made together, so
 * that on Postgres they leave in one flight and cost one round trip, not three; none depends on
 * another, and a head found moved rolls them all back. The COPY of the turns follows them, never
 * beside them: the driver refuses a statement while a COPY is open.
 */

type Driver = TurnStore["driver"];

/**
 * Appends a batch in one transaction: move the head from the expected position (a conditional
 * UPDATE, so a concurrent writer either waits for us and then finds the head moved, or wins and
 * we find it moved), insert the turns, the snapshots and the undo marks, and project the records
 * the turns change (project.ts). Any conflict, including
 * a duplicate key from a writer that bypassed the head, rolls back the whole batch.
 */
export async function appendTurns(
  db: Db,
  driver: Driver,
  universeId: string,
  batch: AppendBatch,
  uncheckedRows = false,
): Promise<{ head: number }> {
  checkBatch(universeId, batch);
  const head = batch.expectedHead + batch.turns.length;
  try {
    const runIds = runsTouchedBy([batch]);
    await db.transaction(async (tx) => {
      // the head, the snapshots and the runs' locks go out together (FIRST_FLIGHT)
      const [[moved], , locked] = await Promise.all([
        tx
          .update(universes)
          .set({ headPosition: head })
          .where(and(eq(universes.id, universeId), eq(universes.headPosition, batch.expectedHead)))
          .returning({ branchPosition: universes.branchPosition }),
        upsertSnapshots(tx, batch.snapshots ?? []),
        runIds ? lockRuns(tx, runIds) : undefined,
      ]);
      if (!moved) throw await conflict(tx, universeId, batch.expectedHead);
      await insertTurns(tx, driver, batch.turns, uncheckedRows);
      await markUndone(tx, universeId, moved.branchPosition ?? 0, head, undoMarks(batch));
      await projectAppended(
        tx,
        [{ universeId, branchPosition: moved.branchPosition ?? 0, turns: batch.turns }],
        locked,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      const [row] = await db
        .select({ head: universes.headPosition })
        .from(universes)
        .where(eq(universes.id, universeId));
      throw new AppendConflictError(universeId, batch.expectedHead, row?.head ?? batch.expectedHead);
    }
    throw error;
  }
  return { head };
}

/** Raised inside a group's transaction to roll it back and write the group one by one. */
class GroupConflict extends Error {}

/**
 * Group commit (TurnStore.appendMany): one transaction moves every head at once (a conditional
 * UPDATE over all the universes), inserts all the turns and snapshots, and marks undos. If any
 * head is stale, a key collides or the database refuses any of it, it rolls back and each batch
 * goes through appendTurns alone, so only the universe at fault is refused.
 */
export async function appendMany(
  db: Db,
  driver: Driver,
  requests: AppendRequest[],
  uncheckedRows = false,
): Promise<AppendOutcome[]> {
  const outcomes: Array<AppendOutcome | null> = requests.map(({ universeId, batch }) => {
    try {
      checkBatch(universeId, batch);
      return null;
    } catch (error) {
      return failed(error);
    }
  });
  const group = requests.filter((_, i) => outcomes[i] === null);
  if (new Set(group.map((request) => request.universeId)).size !== group.length)
    throw new RangeError("appendMany takes one batch per universe");
  if (group.length <= 1) return one(db, driver, requests, outcomes, uncheckedRows);
  const heads = group.map(({ universeId, batch }) => ({
    id: universeId,
    expected: batch.expectedHead,
    head: batch.expectedHead + batch.turns.length,
  }));
  const runIds = runsTouchedBy(group.map(({ batch }) => batch));
  try {
    await db.transaction(async (tx) => {
      // the heads, the snapshots and the runs' locks go out together (FIRST_FLIGHT)
      const [movedRows, , locked] = await Promise.all([
        tx.execute(sql`
          update ${universes} u set head_position = v.head
          from jsonb_to_recordset(${JSON.stringify(heads)}::jsonb) as v(id text, expected integer, head integer)
          where u.id = v.id and u.head_position = v.expected
          returning u.id, u.branch_position`),
        upsertSnapshots(
          tx,
          group.flatMap(({ batch }) => batch.snapshots ?? []),
        ),
        runIds ? lockRuns(tx, runIds) : undefined,
      ]);
      const moved = rowsOf<{ id: string; branch_position: number | null }>(movedRows);
      if (moved.length !== group.length) throw new GroupConflict();
      await insertTurns(
        tx,
        driver,
        group.flatMap(({ batch }) => batch.turns),
        uncheckedRows,
      );
      const branchAt = new Map(moved.map((row) => [row.id, row.branch_position ?? 0]));
      for (const { universeId, batch } of group) {
        const head = batch.expectedHead + batch.turns.length;
        await markUndone(tx, universeId, branchAt.get(universeId) ?? 0, head, undoMarks(batch));
      }
      await projectAppended(
        tx,
        group.map(({ universeId, batch }) => ({
          universeId,
          branchPosition: branchAt.get(universeId) ?? 0,
          turns: batch.turns,
        })),
        locked,
      );
    });
  } catch {
    // A stale head, a colliding key, or one universe's rows the database refuses: each batch
    // goes alone, so only the universe at fault is refused and the others are written.
    return one(db, driver, requests, outcomes, uncheckedRows);
  }
  return outcomes.map(
    (outcome, i) =>
      outcome ?? { ok: true, head: requests[i]!.batch.expectedHead + requests[i]!.batch.turns.length },
  );
}

/** The requests not yet decided, each in its own transaction. */
async function one(
  db: Db,
  driver: Driver,
  requests: AppendRequest[],
  outcomes: Array<AppendOutcome | null>,
  uncheckedRows: boolean,
): Promise<AppendOutcome[]> {
  const settled: AppendOutcome[] = [];
  for (const [i, request] of requests.entries()) {
    const known = outcomes[i];
    if (known) {
      settled.push(known);
      continue;
    }
    try {
      settled.push({
        ok: true,
        ...(await appendTurns(db, driver, request.universeId, request.batch, uncheckedRows)),
      });
    } catch (error) {
      settled.push(failed(error));
    }
  }
  return settled;
}

function failed(error: unknown): AppendOutcome {
  return {
    ok: false,
    conflict: error instanceof AppendConflictError ? error.actualHead : null,
    // a failed query's message holds its parameters: the whole batch of turns
    message: safeMessage(error),
    code: errorClass(error),
  };
}

/**
 * The turns as COPY text (copy.ts) into `turns`, in the transaction: each JSON value is parsed
 * once, where an INSERT from one JSON parameter (jsonb_to_recordset) parses the whole chunk and
 * then each value again. One COPY, its text made a piece at a time as the database takes the
 * pieces before. `uncheckedRows`: without the foreign key's check (row-checks.ts), the universes
 * the rows name being the ones whose heads the transaction moved (checkBatch). A duplicate key
 * fails the COPY, hence the transaction, as an INSERT would.
 */
async function insertTurns(
  db: Db,
  driver: Driver,
  all: readonly Turn[],
  uncheckedRows: boolean,
): Promise<void> {
  const unchecked = uncheckedRows && all.length >= UNCHECKED_FROM;
  if (unchecked) await rowChecks(db, false);
  await copyMadeRows(db, driver, "turns", TURN_COLUMNS, turnPieces(all));
  if (unchecked) await rowChecks(db, true);
}

function* turnPieces(all: readonly Turn[]): Generator<string> {
  for (let i = 0; i < all.length; i += PIECE) {
    let rows = "";
    for (let j = i; j < Math.min(i + PIECE, all.length); j++) rows += turnRow(all[j]!, undefined);
    yield rows;
  }
}

/** What checkBatch and undoMarks read of a batch: an append's, or an import's (ImportBatch). */
type BatchShape = Omit<AppendBatch, "turns"> & {
  turns: ReadonlyArray<Pick<Turn, "universeId" | "position" | "kind">>;
};

export function checkBatch(universeId: string, batch: BatchShape): void {
  batch.turns.forEach((turn, i) => {
    if (turn.universeId !== universeId || turn.position !== batch.expectedHead + i + 1) {
      throw new RangeError(
        `turn ${turn.universeId}@${turn.position} does not follow ${universeId}@${batch.expectedHead + i} in the batch`,
      );
    }
  });
  for (const snapshot of batch.snapshots ?? []) {
    if (snapshot.universeId !== universeId || snapshot.position > batch.expectedHead + batch.turns.length) {
      throw new RangeError(
        `snapshot ${snapshot.universeId}@${snapshot.position} is not on this batch's timeline`,
      );
    }
  }
}

async function conflict(db: Db, universeId: string, expectedHead: number): Promise<Error> {
  const [row] = await db
    .select({ head: universes.headPosition })
    .from(universes)
    .where(eq(universes.id, universeId));
  return row
    ? new AppendConflictError(universeId, expectedHead, row.head)
    : new NotFoundError("universe", universeId);
}

/**
 * Pairs each undone position with the undo turn that undid it: the batch's undo turns in order,
 * one per position; any position left over is credited to the batch's last turn.
 */
export function undoMarks(batch: BatchShape): Array<{ position: number; undoneBy: number }> {
  const undoTurns = batch.turns.filter((turn) => turn.kind === "undo").map((turn) => turn.position);
  const last = batch.expectedHead + batch.turns.length;
  return (batch.undone ?? []).map((position, i) => ({ position, undoneBy: undoTurns[i] ?? last }));
}

/** Own turns are marked in place; turns a branch shares with its parent get a mark of the branch's. */
export async function markUndone(
  db: Db,
  universeId: string,
  branchPosition: number,
  head: number,
  marks: Array<{ position: number; undoneBy: number }>,
): Promise<void> {
  if (marks.length === 0) return;
  for (const mark of marks) {
    if (mark.position < 1 || mark.position > head)
      throw new RangeError(`cannot mark ${universeId}@${mark.position} undone`);
  }
  const own = marks.filter((mark) => mark.position > branchPosition);
  for (const mark of own) {
    await db
      .update(turns)
      .set({ status: "undone", undoneBy: mark.undoneBy })
      .where(and(eq(turns.universeId, universeId), eq(turns.position, mark.position)));
  }
  const inherited = marks.filter((mark) => mark.position <= branchPosition);
  if (inherited.length > 0) {
    await db
      .insert(inheritedUndos)
      .values(inherited.map((mark) => ({ universeId, ...mark })))
      .onConflictDoNothing();
  }
}

/** Postgres unique_violation, whether the driver's error or drizzle's wrapper around it. */
export function isUniqueViolation(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth++) {
    if ((cause as { code?: unknown }).code === "23505") return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
