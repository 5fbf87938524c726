import { randomUUID } from "node:crypto";
import { documentOf } from "./snapshot-parts.ts";
import { eq } from "drizzle-orm";
import { canonicalJson } from "@loom/shared";
import { checkBatch, markUndone, undoMarks } from "./append.ts";
import { TURN_COLUMNS, turnRow } from "./turn-rows.ts";
import { copyRows } from "./copy.ts";
import { mayLeaveRowChecks, rowChecks } from "./row-checks.ts";
import { copyText } from "./copy-text.ts";
import type { Db } from "./rows.ts";
import { writeImportedSavePoints } from "./save-points.ts";
import { universes } from "./schema.ts";
import { AppendConflictError, NotFoundError } from "./turn-store.ts";
import type { ImportBatch, ImportStart, TurnStore, UniverseRecord } from "./turn-store.ts";
import * as universeRows from "./universes.ts";

const SNAPSHOT_COLUMNS = ["universe_id", "position", "reason", "created_at", "checksum", "state"] as const;

type Step = { kind: "batch"; batch: ImportBatch } | { kind: "commit" } | { kind: "abort" };

/** Raised inside an import's transaction to roll it back when its caller abandons it. */
class ImportAbandoned extends Error {}

/** One open import: its transaction runs the steps handed to it, one at a time. */
class OpenImport {
  private readonly steps: Array<{ step: Step; settle: Settle }> = [];
  private wake: (() => void) | null = null;
  /** Why no step is taken any more (the transaction ended or is ending). */
  private closed: Error | null = null;
  /** Settles `commit` once the transaction has committed (or failed to). */
  committing: Settle | null = null;
  /** Resolves when the transaction has ended, committed or not. */
  ended: Promise<void> = Promise.resolve();
  /** The universe, once the transaction has created it; then the head its batches reached. */
  universe: UniverseRecord | null = null;
  head = 0;
  /** The save points the last batch wrote. */
  savePoints = 0;

  /** Hands a step to the transaction; resolves once it is done there. */
  send(step: Step): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.steps.push({
        step,
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      });
      this.wake?.();
    });
  }

  async next(): Promise<{ step: Step; settle: Settle }> {
    while (this.steps.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    return this.steps.shift()!;
  }

  /** No step is taken after this one: those waiting, and any sent later, fail with `reason`. */
  close(reason: Error): void {
    this.closed ??= reason;
    for (const waiting of this.steps.splice(0)) waiting.settle(reason);
  }
}

type Settle = (error?: Error) => void;

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * Imports in progress (TimelineStore.beginImport): each holds a transaction open, on a connection
 * of its own on Postgres, while its caller reads and checks the file and hands it batches. The
 * turns and snapshots go in with COPY (copy.ts); an undo mark on a turn of the same batch is
 * written in the turn's row (turns given as rows come with those already in them), others as
 * appendTurns writes them; save points in one statement, so that a universe never shows without
 * those its file had.
 */
export class TimelineImports {
  private readonly open = new Map<string, OpenImport>();

  constructor(
    private readonly db: Db,
    private readonly driver: TurnStore["driver"],
    private readonly clock: () => Date,
  ) {}

  begin(start: ImportStart): Promise<{ importId: string; universe: UniverseRecord }> {
    const importId = randomUUID();
    return new Promise((resolve, reject) => {
      const open = new OpenImport();
      const transaction = this.db.transaction(async (tx) => {
        const now = this.clock();
        const universe =
          "genesis" in start
            ? await universeRows.createUniverse(tx, start.universe, start.genesis, now)
            : await universeRows.branchUniverse(
                tx,
                { ...start.universe, parentId: start.parentId, position: start.position },
                now,
              );
        const uncheckedRows = await mayLeaveRowChecks(tx);
        open.universe = universe;
        open.head = universe.headPosition;
        this.open.set(importId, open);
        resolve({ importId, universe });
        for (;;) {
          const { step, settle } = await open.next();
          if (step.kind === "abort") {
            open.close(new Error(`import ${importId} was abandoned`));
            settle();
            throw new ImportAbandoned();
          }
          try {
            if (step.kind === "commit") {
              await tx
                .update(universes)
                .set({ headPosition: open.head })
                .where(eq(universes.id, universe.id));
              open.close(new Error(`import ${importId} has ended`));
              open.committing = settle;
              return;
            }
            const written = await writeBatch(tx, this.driver, universe, open.head, step.batch, uncheckedRows);
            open.head = written.head;
            open.savePoints = written.savePoints;
            settle();
          } catch (error) {
            open.close(asError(error));
            settle(asError(error));
            throw error;
          }
        }
      });
      open.ended = transaction.then(
        () => {
          this.open.delete(importId);
          open.committing?.();
        },
        (error: unknown) => {
          this.open.delete(importId);
          // before the universe was made (its id taken, its parent gone): the begin itself fails
          if (!open.universe) return reject(asError(error));
          open.close(asError(error));
          open.committing?.(asError(error));
        },
      );
    });
  }

  async write(importId: string, batch: ImportBatch): Promise<{ head: number; savePoints: number }> {
    const current = this.get(importId);
    await current.send({ kind: "batch", batch });
    return { head: current.head, savePoints: current.savePoints };
  }

  async commit(importId: string): Promise<UniverseRecord> {
    const current = this.get(importId);
    await current.send({ kind: "commit" });
    return { ...current.universe!, headPosition: current.head };
  }

  /** Rolls the import back; nothing of it stays. Nothing to do for one that has already ended. */
  async abort(importId: string): Promise<void> {
    const current = this.open.get(importId);
    if (!current) return;
    await current.send({ kind: "abort" }).catch(() => undefined);
    await current.ended;
  }

  /** Every import still open, rolled back (the store is closing). */
  async abortAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.abort(id)));
  }

  private get(importId: string): OpenImport {
    const current = this.open.get(importId);
    if (!current) throw new NotFoundError("import", importId);
    return current;
  }
}

/**
 * One batch of an import, checked as appendTurns checks a batch: its turns and snapshots copied
 * in, its undo marks written, in the undone turn's own row when that turn is in the batch, and its
 * save points. Returns the head it reaches and the save points it wrote.
 */
async function writeBatch(
  tx: Db,
  driver: TurnStore["driver"],
  universe: UniverseRecord,
  head: number,
  batch: ImportBatch,
  uncheckedRows: boolean,
): Promise<{ head: number; savePoints: number }> {
  if (batch.expectedHead !== head) throw new AppendConflictError(universe.id, batch.expectedHead, head);
  let end: number;
  let earlier: Array<{ position: number; undoneBy: number }>;
  if (uncheckedRows) await rowChecks(tx, false);
  if ("chunks" in batch.turns) {
    const rows = batch.turns;
    if (rows.universeId !== universe.id || rows.first !== head + 1)
      throw new RangeError(
        `rows of ${rows.universeId}@${rows.first} do not follow ${universe.id}@${head} in the batch`,
      );
    end = head + rows.count;
    checkBatch(universe.id, { ...batch, turns: [], expectedHead: end });
    earlier = batch.marks ?? [];
    await copyRows(tx, driver, "turns", TURN_COLUMNS, rows.chunks);
  } else {
    const turns = batch.turns;
    checkBatch(universe.id, { ...batch, turns });
    end = head + turns.length;
    const undoneBy = new Map<number, number>();
    earlier = [...(batch.marks ?? [])];
    for (const mark of undoMarks({ ...batch, turns })) {
      if (mark.position > head && mark.position <= end) undoneBy.set(mark.position, mark.undoneBy);
      else earlier.push(mark);
    }
    let rows = "";
    for (const turn of turns) rows += turnRow(turn, undoneBy.get(turn.position));
    await copyRows(tx, driver, "turns", TURN_COLUMNS, rows);
  }
  const saves = batch.savePoints ?? [];
  const beyond = saves.find((save) => save.position < 1 || save.position > end);
  if (beyond)
    throw new RangeError(
      `save point "${beyond.name}" at position ${beyond.position} is beyond ${universe.id}'s timeline, which ends at ${end}`,
    );
  // of two snapshots of one position the later stands, as appendTurns' upsert has it
  const snapshots = new Map((batch.snapshots ?? []).map((snapshot) => [snapshot.position, snapshot]));
  let documents = "";
  for (const snapshot of snapshots.values()) {
    const state =
      "stateJson" in snapshot
        ? snapshot.stateJson
        : "stateParts" in snapshot
          ? documentOf(snapshot.stateParts)
          : canonicalJson(snapshot.state);
    documents += `${copyText(universe.id)}\t${snapshot.position}\t${snapshot.reason}\t${copyText(snapshot.createdAt)}\t${copyText(snapshot.checksum)}\t${copyText(state)}\n`;
  }
  await copyRows(tx, driver, "snapshots", SNAPSHOT_COLUMNS, documents);
  if (uncheckedRows) await rowChecks(tx, true);
  await markUndone(tx, universe.id, universe.branchPosition ?? 0, end, earlier);
  return { head: end, savePoints: await writeImportedSavePoints(tx, universe.id, saves) };
}
