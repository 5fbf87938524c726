import { canonicalJson, checksumOfJson, viewTurn } from "@loom/shared";
import {
  audienceLabel,
  disclosedDice,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type AncestryMode,
  type Audience,
  type ExportStores,
  type HeaderLine,
  type SavePointLine,
} from "./format.ts";
import {
  lineageOf,
  parseTurn,
  savePointsFor,
  turnJsonPages,
  turnTextPages,
  universeOrThrow,
  viewerOf,
  type Progress,
} from "./source.ts";

/**
 * Snapshot documents read in one query: up to SNAPSHOT_BATCH, fewer once documents are large, so
 * that a batch is about SNAPSHOT_BATCH_CHARS of text (a state reaches 400 KB at 20,000 turns of
 * play). Each query costs PGlite a fixed amount besides its documents.
 */
export const SNAPSHOT_BATCH = 32;
const SNAPSHOT_BATCH_CHARS = 4 * 2 ** 20;

/**
 * The batch size after reading `documents` in a batch of `size`: never larger, and about
 * SNAPSHOT_BATCH_CHARS of text at the largest document seen.
 */
export function snapshotBatchAfter(size: number, documents: Iterable<string>): number {
  let next = size;
  for (const text of documents) next = Math.min(next, Math.floor(SNAPSHOT_BATCH_CHARS / text.length));
  return Math.max(1, next);
}

/**
 * A snapshot's document as its canonical JSON, the text its checksum was taken of: as stored
 * (snapshots are kept as that text), or serialized again for a row written otherwise; null when
 * neither matches the checksum (the document was damaged), which an importer would refuse.
 */
function canonicalText(stored: string, checksum: string): string | null {
  if (checksumOfJson(stored) === checksum) return stored;
  let text: string;
  try {
    text = canonicalJson(JSON.parse(stored) as unknown);
  } catch {
    return null;
  }
  return checksumOfJson(text) === checksum ? text : null;
}

export interface ExportOptions {
  audience: Audience;
  ancestry?: AncestryMode;
  pageSize?: number;
  onProgress?: Progress;
  /**
   * A snapshot whose stored document does not match its checksum: it is left out (the turns
   * rebuild its state, so the file stays whole) and named here.
   */
  onDamagedSnapshot?: (position: number) => void;
  now?: () => Date;
}

/**
 * A universe as JSONL (format.ts), line by line: a page of turns and one snapshot at a time are
 * in memory, whatever the timeline's length. A player's export is redacted turn by turn for that
 * player and carries no snapshots (a whole state holds what the player may not see), and only that
 * player's own save points (as the bookmarks list shows them). The save points follow the turns.
 */
export async function* exportJsonl(
  stores: ExportStores,
  universeId: string,
  options: ExportOptions,
): AsyncGenerator<string> {
  const store = stores.turnStore;
  const universe = await universeOrThrow(store, universeId);
  const ancestry = options.ancestry ?? "full";
  const viewer = await viewerOf(store, options.audience);
  const head = await store.headPosition(universeId);
  const from = ancestry === "reference" && universe.parentId ? (universe.branchPosition ?? 0) : 0;
  const redacted = options.audience.kind !== "gm";
  const header: HeaderLine = {
    type: "header",
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: (options.now?.() ?? new Date()).toISOString(),
    audience: audienceLabel(options.audience),
    ancestry,
    universe: {
      id: universe.id,
      name: universe.name,
      parentId: universe.parentId,
      branchPosition: universe.branchPosition,
      createdAt: universe.createdAt,
      createdBy: universe.createdBy,
    },
    lineage: await lineageOf(store, universe),
    from,
    head,
    dice: (await store.diceChain(universeId)).map(disclosedDice),
    redacted,
    ...(from > 0 && !redacted
      ? { base: { position: from, checksum: (await store.stateAt(universeId, from)).checksum } }
      : {}),
  };
  yield `${JSON.stringify(header)}\n`;

  const snapshots = redacted
    ? []
    : (await store.listSnapshots(universeId)).filter((s) => s.position >= from && s.position <= head);
  let nextSnapshot = 0;
  let written = { turns: 0, snapshots: 0, savePoints: 0 };
  // documents are read a batch at a time (one query), the batch kept until written; its size
  // follows the largest document read so far
  let fetched = new Map<number, string>();
  let batchSize = SNAPSHOT_BATCH;
  async function documentOf(index: number): Promise<string | undefined> {
    const info = snapshots[index]!;
    if (!fetched.has(info.position)) {
      const batch = snapshots
        .slice(index, index + batchSize)
        .filter((s) => s.storedIn === info.storedIn)
        .map((s) => s.position);
      fetched = await store.snapshotTexts(info.storedIn, batch);
      batchSize = snapshotBatchAfter(batchSize, fetched.values());
    }
    return fetched.get(info.position);
  }
  async function* snapshotsThrough(position: number): AsyncGenerator<string> {
    while (nextSnapshot < snapshots.length && snapshots[nextSnapshot]!.position <= position) {
      const info = snapshots[nextSnapshot]!;
      const stored = await documentOf(nextSnapshot);
      nextSnapshot += 1;
      if (stored === undefined) continue;
      const text = canonicalText(stored, info.checksum);
      if (text === null) {
        options.onDamagedSnapshot?.(info.position);
        continue;
      }
      written = { ...written, snapshots: written.snapshots + 1 };
      yield `{"type":"snapshot","position":${info.position},"reason":${JSON.stringify(info.reason)},"createdAt":${JSON.stringify(info.createdAt)},"checksum":${JSON.stringify(info.checksum)},"state":${text}}\n`;
    }
  }

  yield* snapshotsThrough(from);
  if (viewer.role === "gm") {
    // a game master's lines are the turns' stored text as the database writes them out, turn
    // lines already, cut only where a snapshot line goes in between
    const pages = turnJsonPages(store, universeId, from, head, { pageSize: options.pageSize, type: "turn" });
    for await (const page of pages) {
      const lines = page.json;
      let cut = 0;
      let at = 0; // the end of the line of `position`
      let position = page.last - page.turns;
      while (nextSnapshot < snapshots.length && snapshots[nextSnapshot]!.position <= page.last) {
        const through = snapshots[nextSnapshot]!.position;
        for (; position < through; position++) at = lines.indexOf("\n", at) + 1;
        if (at > cut) yield lines.slice(cut, at);
        cut = at;
        yield* snapshotsThrough(through);
      }
      if (lines.length > cut) yield lines.slice(cut);
      written = { ...written, turns: written.turns + page.turns };
      options.onProgress?.(page.last - from, head - from);
    }
  } else {
    for await (const page of turnTextPages(store, universeId, from, head, { pageSize: options.pageSize })) {
      let chunk = "";
      for (const turn of page) {
        // a player's line is the turn as they may see it
        chunk += `${JSON.stringify({ type: "turn", ...viewTurn(parseTurn(turn), viewer) })}\n`;
        written = { ...written, turns: written.turns + 1 };
        if (nextSnapshot < snapshots.length && snapshots[nextSnapshot]!.position <= turn.position) {
          yield chunk;
          chunk = "";
          yield* snapshotsThrough(turn.position);
        }
      }
      if (chunk) yield chunk;
      options.onProgress?.(page[page.length - 1]!.position - from, head - from);
    }
  }
  let saves = "";
  for (const save of await savePointsFor(stores.savePoints, universeId, options.audience, head)) {
    const line: SavePointLine = {
      type: "save_point",
      position: save.position,
      playerId: save.playerId,
      name: save.name,
      createdAt: save.createdAt,
    };
    saves += `${JSON.stringify(line)}\n`;
    written = { ...written, savePoints: written.savePoints + 1 };
  }
  if (saves) yield saves;
  yield `${JSON.stringify({ type: "end", ...written })}\n`;
}
