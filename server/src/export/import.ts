import { randomUUID } from "node:crypto";
import {
  diceCommitment,
  diceFor,
  reexecute,
  undoTargetOf,
  type DiceSegment,
  type Random,
  type SavePointRecord,
  type Turn,
  type UniverseState,
  universeBodySchema,
} from "@loom/shared";
import type { AccountStore } from "../auth/account-store.ts";
import type { EncodedSnapshot, TurnStore, UniverseRecord } from "../persist/turn-store.ts";
import { CheckedFile } from "./checked-file.ts";
import type { UndoMark } from "./checked-items.ts";
import type { HeaderLine } from "./format.ts";
import { ExportFileError, fileLines, readExport, type ExportItem, type InheritedUndos } from "./reader.ts";
import type { Progress } from "./source.ts";

/** What an import reads and writes: the timelines, and the players its game master is one of. */
export interface ImportStores {
  turnStore: TurnStore;
  accountStore: Pick<AccountStore, "byId">;
}

export interface ImportOptions {
  /** The new universe's name; the exported one's by default. */
  name?: string;
  /**
   * The player recorded as its creator (its game master), a player of this database; the exported
   * creator (the header's `universe.createdBy`) by default.
   */
  gm?: string;
  /** Re-execute every command with its recorded dice and compare with the recorded deltas. */
  replay?: boolean;
  /** The new universe's id (a random UUID by default); its turns get random UUIDs. */
  newId?: () => string;
  onProgress?: Progress;
  /** Turns appended at a time. */
  batch?: number;
  /**
   * The save points one player may have in a universe (LOOM_MAX_SAVE_POINTS): a file with more
   * for a player is refused. Not bounded without it.
   */
  maxSavePoints?: number;
  /** The longest line read, in characters (reader.ts: MAX_LINE_CHARS by default). */
  maxLine?: number;
}

/**
 * The game master an import was to give the new universe (`ImportOptions.gm`, or else the
 * exported creator) is no player of this database: a universe whose game master is nobody has
 * none. Refused before anything is written, after the header's own refusals (a missing parent
 * names the real trouble).
 */
export class UnknownGameMasterError extends Error {
  readonly code = "unknown_game_master";
  constructor(
    readonly playerId: string,
    /** Named by the caller (`gm`), not by the file. */
    readonly chosen: boolean,
    /** The header's line, which names the exported creator. */
    readonly line: number,
  ) {
    super(
      chosen
        ? `this database has no player ${playerId}`
        : `line ${line}: the exported game master ${playerId} (universe.createdBy) is no player of this database`,
    );
    this.name = "UnknownGameMasterError";
  }
}

export interface ImportResult {
  universe: UniverseRecord;
  /** The player who became its game master. */
  gameMaster: { playerId: string; name: string };
  turns: number;
  snapshots: number;
  /** The state checksum at the head, equal to the exported universe's. */
  headChecksum: string;
  /** Positions re-executed with --replay (null without it). */
  replayed: number | null;
  /** The file's save points written, and those left out because their player is not in this database. */
  savePoints: { restored: number; leftOut: number };
}

/** Messages of checked items the checking thread may hand over before the writer takes them (a few MB). */
const MESSAGES_AHEAD = 8;
/** The same beside PGlite: some 3,200 turns (5 MB) with a snapshot every 100, 8,000 (13 MB) at most. */
const PGLITE_MESSAGES_AHEAD = 32;

/** The file's lines, read again from the start at each call. */
type LineSource = () => AsyncIterable<string>;

/**
 * A new universe from a JSONL export (a game master's; full, or a branch's by reference when its
 * parent is in this database), read once and written as it is checked: the store's import
 * (TimelineStore.beginImport) holds the whole of it in one transaction, the genesis as the new
 * universe's, the turns in batches with the snapshots taken at their positions and their undo
 * marks, committed only once the end line has agreed (the file read and checked on a thread of its
 * own, checked-file.ts, while this one writes); a file refused at some line, or a write that
 * fails, rolls it back and leaves the database as it was. With `replay` the file is read a first
 * time to re-execute every turn before anything is written. The game master is checked against
 * this database's players before the first write. The save points are checked as they are read
 * (their text, their time, at most `maxSavePoints` a player) and written with the last batch, in
 * the same transaction: the universe is never seen without them.
 * Turns keep their positions, runs, characters, inputs, rolls, deltas and narration; they get new
 * ids (ids are unique across universes). Save points keep their players, names, positions and
 * times; those of a player this database does not have are left out (and counted). The new
 * universe rolls future turns with a dice secret of its own; the exported dice (and any revealed
 * secret) are kept in its settings under `imported`.
 */
export async function importJsonl(
  stores: ImportStores,
  file: string,
  options: ImportOptions,
): Promise<ImportResult> {
  // PGlite writes on this thread and holds it for the whole COPY of a batch: the checker may run
  // a batch and more ahead (a parcel ends at each snapshot, some 100 turns apart), so that it
  // checks the next batch meanwhile instead of waiting to be asked
  const ahead = stores.turnStore.driver === "pglite" ? PGLITE_MESSAGES_AHEAD : MESSAGES_AHEAD;
  const checked = await CheckedFile.start(file, ahead);
  try {
    return await importChecked(stores, file, checked, options);
  } finally {
    await checked.stop();
  }
}

async function importChecked(
  stores: ImportStores,
  file: string,
  checked: CheckedFile,
  options: ImportOptions,
): Promise<ImportResult> {
  if (options.name !== undefined) newUniverseName(options.name);
  const store = stores.turnStore;
  const source: LineSource = () => fileLines(file, options.maxLine);
  const { header, line, start, parent } = await checkHeader(store, source, options);
  const gameMaster = await gameMasterOf(stores.accountStore, header, line, options.gm);
  const newId = options.newId ?? randomUUID;
  const batchSize = options.batch ?? 2_000;
  // trimmed, as the API names a universe; the file's own within the API's bounds (the reader
  // refused any other), a new one held to the API's rules
  const name = options.name === undefined ? header.universe.name.trim() : newUniverseName(options.name);
  const newUniverse = {
    id: newId(),
    name,
    createdBy: gameMaster.playerId,
    settings: {
      imported: {
        universeId: header.universe.id,
        exportedAt: header.exportedAt,
        lineage: header.lineage,
        dice: header.dice,
      },
    },
  };
  let importId: string | null = null;
  let universeId = "";
  // a reference export continues its parent, found in this database: the new universe is a
  // branch of it at the same position (copy-on-write), the past shared, not copied
  const begin = async (genesis: UniverseState | null) => {
    const begun = await store.beginImport(
      genesis
        ? { universe: newUniverse, genesis }
        : { universe: newUniverse, parentId: header.universe.parentId!, position: header.from },
    );
    importId = begun.importId;
    universeId = begun.universe.id;
  };
  let head = header.from;
  // turns come as COPY rows, held as bytes until their batch is written
  let pending: Array<Uint8Array<ArrayBuffer>> = [];
  let pendingTurns = 0;
  let marks: UndoMark[] = [];
  let snapshots: EncodedSnapshot[] = [];
  let counts = { turns: 0, snapshots: 0 };
  const saves: Array<Omit<SavePointRecord, "universeId">> = [];
  let restored = 0;
  // save points a player has in the file, against the cap a player has in a universe
  const savesOf = new Map<string, number>();
  // one batch is written while the next is read and checked: the database and the parsing overlap
  let writing: Promise<unknown> = Promise.resolve();
  // the save points come after the turns, in the last batch: with the timeline, in its transaction
  const flush = async (last = false) => {
    const savePoints = last ? saves : [];
    if (pendingTurns === 0 && snapshots.length === 0 && savePoints.length === 0) return;
    const rows = { universeId, first: head + 1, count: pendingTurns, chunks: pending };
    const batch = { expectedHead: head, turns: rows, snapshots, marks, savePoints };
    head += pendingTurns;
    pending = [];
    pendingTurns = 0;
    marks = [];
    snapshots = [];
    await writing;
    writing = store.importBatch(importId!, batch).then((written) => {
      restored += written.savePoints;
      options.onProgress?.(batch.expectedHead + rows.count - header.from, header.head - header.from);
    });
    writing.catch(() => undefined); // awaited at the next flush or at the end
  };
  try {
    const checks = { maxLine: options.maxLine, inherited: parent?.inherited };
    for await (const item of checked.items(start, newUniverse.id, checks)) {
      if (item.kind === "snapshot" && item.snapshot.position === header.from) {
        if (parent && item.snapshot.checksum !== parent.checksum)
          throw new ExportFileError(
            item.line,
            `parent_mismatch: the branch point's snapshot has checksum ${item.snapshot.checksum}, universe ${header.universe.parentId} here has ${parent.checksum} at position ${header.from}`,
            [],
            "parent_mismatch",
          );
        // the genesis makes the universe; a branch point's snapshot is the parent's, checked above
        if (importId === null) await begin(header.from === 0 ? item.state : null);
        counts = { ...counts, snapshots: counts.snapshots + 1 };
      } else if (item.kind === "snapshot") {
        snapshots.push({
          universeId,
          position: item.snapshot.position,
          stateJson: item.json,
          checksum: item.snapshot.checksum,
          reason: item.snapshot.reason,
          createdAt: item.snapshot.createdAt,
        });
        counts = { ...counts, snapshots: counts.snapshots + 1 };
      } else if (item.kind === "turns") {
        if (importId === null) {
          // with the header's base checksum, the parent's state is where the file starts
          if (start === null)
            throw new ExportFileError(
              item.line,
              header.from === 0
                ? "a turn before the genesis snapshot (position 0)"
                : `a turn before any state at the branch position ${header.from} (no base checksum, no snapshot there)`,
            );
          await begin(null);
        }
        // written out by the checking thread, in the new universe with new ids
        if (item.rows.universeId !== universeId || item.rows.first !== head + pendingTurns + 1)
          throw new Error(
            `rows of ${item.rows.universeId}@${item.rows.first} out of place at line ${item.line}`,
          );
        pending.push(...item.rows.chunks);
        pendingTurns += item.rows.count;
        marks.push(...item.marks);
        counts = { ...counts, turns: counts.turns + item.rows.count };
        if (pendingTurns >= batchSize) await flush();
      } else if (item.kind === "save_point") {
        const playerId = item.savePoint.playerId;
        const held = (savesOf.get(playerId) ?? 0) + 1;
        savesOf.set(playerId, held);
        if (options.maxSavePoints !== undefined && held > options.maxSavePoints)
          throw new ExportFileError(
            item.line,
            `player ${playerId} has more than ${options.maxSavePoints} save points in this file, the most a player may have in a universe here (LOOM_MAX_SAVE_POINTS)`,
          );
        saves.push(item.savePoint);
      }
    }
    if (importId === null) {
      if (start === null) throw new ExportFileError(1, "no genesis snapshot");
      await begin(null);
    }
    await flush(true);
    await writing;
    await store.commitImport(importId!);
  } catch (error) {
    await writing.catch(() => undefined);
    if (importId !== null) await store.abortImport(importId);
    throw error;
  }
  const at = await store.stateAt(universeId, head);
  return {
    universe: (await store.getUniverse(universeId))!,
    gameMaster,
    ...counts,
    headChecksum: at.checksum,
    replayed: options.replay ? header.head - header.from : null,
    savePoints: { restored, leftOut: saves.length - restored },
  };
}

/** A universe's name as the API takes it (`universeBodySchema`). */
const universeNameSchema = universeBodySchema.shape.name;

/**
 * The name an import was given for the new universe (`ImportOptions.name`, `loom import --name`)
 * as the API takes a universe's name, trimmed; refused (NewNameError) before anything is read.
 */
export function newUniverseName(name: string): string {
  const parsed = universeNameSchema.safeParse(name);
  if (!parsed.success) throw new NewNameError(name, parsed.error.issues[0]);
  return parsed.data;
}

/** A name in a message: a long one cut short, with its length. */
function shownName(name: string): string {
  return name.length > 40
    ? `${JSON.stringify(name.slice(0, 40))}… (${name.length} characters)`
    : JSON.stringify(name);
}

/** A name for the new universe that the API would not take: the caller's, not the file's. */
export class NewNameError extends Error {
  readonly code = "invalid_name";
  /** The lengths a name may have, trimmed, as the API has them. */
  static readonly min = universeNameSchema.minLength ?? 1;
  static readonly max = universeNameSchema.maxLength ?? Number.POSITIVE_INFINITY;
  /**
   * What the API says of the name, when it is not its length: the characters it holds (controls,
   * bidirectional overrides, nothing visible). Null when the name is too short or too long.
   */
  readonly problem: string | null;
  constructor(
    readonly given: string,
    issue?: { code: string; message: string },
  ) {
    const problem = issue && issue.code !== "too_small" && issue.code !== "too_big" ? issue.message : null;
    super(
      problem === null
        ? `a universe's name must be ${NewNameError.min} to ${NewNameError.max} characters (trimmed), got ${shownName(given)}`
        : `a universe's name: ${problem}, got ${shownName(given)}`,
    );
    this.problem = problem;
    this.name = "NewNameError";
  }
}

/**
 * The player who becomes the new universe's game master: the one named (`gm`), else the exported
 * creator, looked up among this database's players.
 */
async function gameMasterOf(
  accounts: ImportStores["accountStore"],
  header: HeaderLine,
  line: number,
  chosen: string | undefined,
): Promise<{ playerId: string; name: string }> {
  const playerId = chosen ?? header.universe.createdBy;
  const account = await accounts.byId(playerId);
  if (!account) throw new UnknownGameMasterError(playerId, chosen !== undefined, line);
  return { playerId, name: account.name };
}

/** The header line alone (the first item of the file), before anything else is checked. */
async function readHeader(source: LineSource): Promise<{ header: HeaderLine; line: number }> {
  for await (const item of readExport(source())) {
    if (item.kind === "header") return { header: item.header, line: item.line };
  }
  throw new ExportFileError(1, "no header line");
}

/**
 * The state a reference export starts from: its parent's at the branch position, from this
 * database. The parent must be here, and its past must be the exported one, checked by the
 * checksum of the state at the branch point (`base` in the header).
 */
async function parentState(store: TurnStore, header: HeaderLine, line: number): Promise<ParentState> {
  const parentId = header.universe.parentId;
  if (header.ancestry !== "reference" || parentId === null || header.universe.branchPosition !== header.from)
    throw new ExportFileError(line, `starts at position ${header.from} but names no parent it continues`);
  const parent = await store.getUniverse(parentId);
  if (!parent)
    throw new ExportFileError(
      line,
      `missing_parent: this reference export continues universe ${parentId} after position ${header.from}, and this database has no universe ${parentId}; import the parent first (its own export), or export the branch with --ancestry full`,
      [],
      "missing_parent",
    );
  if (parent.headPosition < header.from)
    throw new ExportFileError(
      line,
      `parent_mismatch: universe ${parentId} here ends at position ${parent.headPosition}, before the branch position ${header.from}`,
      [],
      "parent_mismatch",
    );
  const at = await store.stateAt(parentId, header.from);
  if (header.base && header.base.checksum !== at.checksum)
    throw new ExportFileError(
      line,
      `parent_mismatch: universe ${parentId} here has state ${at.checksum} at position ${header.from}, the export's past has ${header.base.checksum}: a different timeline`,
      [],
      "parent_mismatch",
    );
  return {
    state: at.state,
    checksum: at.checksum,
    inherited: await undosThrough(store, parentId, header.from),
  };
}

/** The parent's past as an import needs it: its state and checksum at the branch point, and its undos up to it. */
interface ParentState {
  state: UniverseState;
  checksum: string;
  inherited: InheritedUndos;
}

/** Undo turns read at a time (the timeline's largest page). */
const UNDO_PAGE = 500;

/**
 * The undo turns of a universe's timeline (its ancestors' included) at or before `through`, and
 * the turns they undid: read before the import begins (beside PGlite nothing is read while it
 * runs), so that the file's undos of its inherited past are checked against them.
 */
async function undosThrough(store: TurnStore, universeId: string, through: number): Promise<InheritedUndos> {
  const undos: number[] = [];
  const undone: number[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await store.timeline(universeId, { kind: "undo", order: "asc", limit: UNDO_PAGE, cursor });
    for (const turn of page.turns) {
      if (turn.position > through) return { undos, undone };
      undos.push(turn.position);
      const target = undoTargetOf(turn);
      if (target !== null) undone.push(target);
    }
    if (page.nextCursor === null) return { undos, undone };
    cursor = page.nextCursor;
  }
}

/**
 * What import needs of the header before anything is written (a game master's export, full
 * from a genesis snapshot, or a reference one whose parent is in this database), and the state
 * the file starts from when the parent gives it; with `replay`, a first reading of the file that
 * re-executes every turn.
 */
async function checkHeader(
  store: TurnStore,
  source: LineSource,
  options: ImportOptions,
): Promise<{
  header: HeaderLine;
  /** The header's line. */
  line: number;
  start: UniverseState | null;
  parent: ParentState | null;
}> {
  const first = await readHeader(source);
  const header = first.header;
  if (header.redacted)
    throw new ExportFileError(
      first.line,
      `a ${header.audience} export is redacted for a reader and cannot be imported; export as gm`,
    );
  const parent = header.from > 0 ? await parentState(store, header, first.line) : null;
  // with the header's base checksum, the parent's state is where the file's replay starts;
  // without it (an older file), the file's own snapshot at the branch point must match
  const start = parent && header.base ? parent.state : null;
  if (options.replay) await replayFile(header, source, start, parent);
  return { header, line: first.line, start, parent };
}

/** `--replay`: every turn of the file re-executed with its recorded dice, before anything is written. */
async function replayFile(
  header: HeaderLine,
  source: LineSource,
  start: UniverseState | null,
  parent: { checksum: string; inherited: InheritedUndos } | null,
): Promise<void> {
  let genesis: UniverseState | null = start;
  const turns: Turn[] = [];
  const lines: number[] = [];
  for await (const item of readExport(source(), start, { turnsKept: true, inherited: parent?.inherited })) {
    if (item.kind === "snapshot" && item.snapshot.position === header.from) {
      if (parent && item.snapshot.checksum !== parent.checksum) return; // refused by the import's own reading
      genesis ??= item.state;
    } else if (item.kind === "turn") {
      if (!genesis) return; // refused by the import's own reading, at this line
      turns.push(withoutType(item));
      lines.push(item.line);
    }
  }
  if (genesis) replayAll(header, genesis, turns, lines);
}

function withoutType(item: Extract<ExportItem, { kind: "turn" }>): Turn {
  const { type: _type, ...turn } = item.turn;
  return turn;
}

/** Re-execution (shared/src/replay.ts) with the dice the export discloses; refused when a secret is sealed. */
function replayAll(header: HeaderLine, genesis: UniverseState, turns: Turn[], lines: number[]): void {
  const sources = header.dice.map((segment) => ({ segment, roll: diceOf(segment) }));
  const dice = (position: number): Random => {
    const found = sources.find((source) => position > source.segment.from);
    if (!found) throw new ExportFileError(1, `no dice stretch covers position ${position}`);
    if (!found.roll)
      throw new ExportFileError(
        1,
        `--replay needs the dice secret of ${found.segment.universeId}: its game master reveals it (POST /api/universes/:id/reveal), then exports again`,
      );
    return found.roll(position);
  };
  const result = reexecute(genesis, turns, dice);
  if (result.divergedAt !== null)
    throw new ExportFileError(
      lines[result.divergedAt - 1 - header.from] ?? 1,
      `replay_mismatch: turn ${result.divergedAt} does not replay: ${result.difference}`,
      [],
      "replay_mismatch",
    );
}

function diceOf(segment: DiceSegment): ((position: number) => Random) | null {
  if (segment.secret === null) return null;
  if (diceCommitment(segment.secret) !== segment.commitment)
    throw new ExportFileError(1, `the dice secret of ${segment.universeId} does not match its commitment`);
  return diceFor({
    universeId: segment.universeId,
    secret: segment.secret,
    legacySeed: segment.legacySeed,
    legacyThrough: segment.legacyThrough,
  });
}
