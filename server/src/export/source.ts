import {
  GAME_MASTER,
  upgradeDeltas,
  type Delta,
  type SavePointRecord,
  type Turn,
  type Viewer,
} from "@loom/shared";
import type { SavePointKey, SavePointStore } from "../persist/save-points.ts";
import {
  NotFoundError,
  type TurnJsonPage,
  type TurnStore,
  type TurnText,
  type UniverseRecord,
} from "../persist/turn-store.ts";
import type { Audience } from "./format.ts";

/**
 * Turns read from the store at a time (one range query a page): what an export holds in memory,
 * whatever the universe's size — a few megabytes of text.
 */
export const EXPORT_PAGE = 2_000;

/** What of the timeline an audience may see (shared/src/visibility.ts): a player owns the characters of their runs. */
export async function viewerOf(store: TurnStore, audience: Audience): Promise<Viewer> {
  if (audience.kind === "gm") return GAME_MASTER;
  const owned = new Set(
    (await store.listRuns({ playerId: audience.playerId })).map((run) => run.characterId),
  );
  return { role: "player", owns: (characterId) => owned.has(characterId) };
}

/**
 * The save points an audience may see, by position, up to `head`: a game master's export has
 * everyone's, a player's only their own (save points are a player's own bookmarks, listed to them
 * and to game masters alone, whatever the universe's visibility). Each player holds at most the
 * cap, but a universe has no bound on its players: the store is read a page at a time.
 */
export async function savePointsFor(
  savePoints: SavePointStore,
  universeId: string,
  audience: Audience,
  head: number,
): Promise<SavePointRecord[]> {
  const list: SavePointRecord[] = [];
  let before: SavePointKey | number = head + 1;
  for (;;) {
    const page = await savePoints.listSavePoints(universeId, {
      ...(audience.kind === "gm" ? {} : { playerId: audience.playerId }),
      before,
      limit: EXPORT_PAGE,
    });
    list.push(...page);
    if (page.length < EXPORT_PAGE) break;
    before = page[page.length - 1]!;
  }
  return list.sort(
    (a, b) =>
      a.position - b.position ||
      (a.playerId < b.playerId ? -1 : a.playerId > b.playerId ? 1 : 0) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

export async function universeOrThrow(store: TurnStore, id: string): Promise<UniverseRecord> {
  const universe = await store.getUniverse(id);
  if (!universe) throw new NotFoundError("universe", id);
  return universe;
}

/** The stretches of a timeline, root first: positions in (after, through] were played in `universeId`. */
export async function lineageOf(
  store: TurnStore,
  universe: UniverseRecord,
): Promise<Array<{ universeId: string; after: number; through: number | null }>> {
  const stretches: Array<{ universeId: string; after: number; through: number | null }> = [];
  let current: UniverseRecord | null = universe;
  let through: number | null = null;
  while (current) {
    const after: number = current.branchPosition ?? 0;
    stretches.unshift({ universeId: current.id, after, through });
    through = current.parentId ? after : null;
    current = current.parentId ? await universeOrThrow(store, current.parentId) : null;
  }
  return stretches;
}

/**
 * Pages asked for ahead of the one being written. Turning a page's jsonb into text is most of an
 * export's time, and it is the database's: two pages in flight run on two connections (on
 * Postgres), so two backends convert at once while this process writes.
 */
const READ_AHEAD = 2;

/** Pages read READ_AHEAD at a time ahead of the one being used, in order. */
async function* readAhead<T>(
  from: number,
  to: number,
  pageSize: number,
  read: (after: number, through: number) => Promise<T>,
): AsyncGenerator<T> {
  const reads: Array<Promise<T>> = [];
  let asked = from;
  const askAhead = () => {
    while (reads.length < READ_AHEAD && asked < to) {
      const next = read(asked, Math.min(asked + pageSize, to));
      next.catch(() => undefined); // awaited in turn below; a failure must not go unhandled meanwhile
      reads.push(next);
      asked += pageSize;
    }
  };
  askAhead();
  while (reads.length > 0) {
    const page = await reads.shift()!;
    askAhead();
    yield page;
  }
}

/** The turns in (from, to] as stored text, a page at a time, in position order. */
export async function* turnTextPages(
  store: TurnStore,
  universeId: string,
  from: number,
  to: number,
  options: { pageSize?: number; deltas?: boolean } = {},
): AsyncGenerator<TurnText[]> {
  const pages = readAhead(from, to, options.pageSize ?? EXPORT_PAGE, (after, through) =>
    store.turnTexts(universeId, after, through, { deltas: options.deltas ?? true }),
  );
  for await (const page of pages) if (page.length > 0) yield page;
}

/**
 * The turns in (from, to] as JSON lines put together by the database (TurnStore.turnJsonPage), a
 * page at a time. A page holding deltas of an older state version comes as turns instead, read
 * again with turnTexts, since those deltas are upgraded as every reader sees them (turnJson).
 * `type` and `story`: as turnJsonPage's.
 */
export async function* turnJsonPages(
  store: TurnStore,
  universeId: string,
  from: number,
  to: number,
  options: { pageSize?: number; deltas?: boolean; type?: string; story?: boolean } = {},
): AsyncGenerator<TurnJsonPage> {
  const { deltas = true, type, story } = options;
  const pages = readAhead(from, to, options.pageSize ?? EXPORT_PAGE, async (after, through) => ({
    after,
    page: await store.turnJsonPage(universeId, after, through, { deltas, type, story }),
  }));
  for await (const { after, page } of pages) {
    if (page.turns === 0) continue;
    if (!deltas || !holdsOldPath(page.json)) {
      yield page;
      continue;
    }
    const texts = await store.turnTexts(universeId, after, page.last);
    const opening = type === undefined ? "{" : `{"type":${JSON.stringify(type)},`;
    const json = texts.map((turn) => `${opening}${turnJson(turn).slice(1)}\n`).join("");
    yield { json, turns: texts.length, last: page.last };
  }
}

/**
 * Deltas recorded under an older state version name a member the current one renamed (see
 * upgrade.ts): `/canon` whole or `/canon/facts` (version 1); `/world` whole, `/world/npcs`,
 * `/world/locations`, `/quests`, the fact buckets whole or a fact bucket keyed `00`…`3f`
 * (version 2). Only those are parsed to upgrade.
 */
export const OLD_PATH =
  /"\/(?:canon(?:"|\/facts|\/factBuckets(?:"|\/[0-9a-f]{2}["/]))|world(?:"|\/npcs|\/locations)|quests["/])/;

const isHex = (code: number) => (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
const FACT_BUCKETS = "/factBuckets";

/** Each old path's first member, and whether what follows it at `after` makes an old path. */
const OLD_ROOTS: ReadonlyArray<readonly [string, (text: string, after: number) => boolean]> = [
  [
    "/canon",
    (text, after) => {
      if (text.charCodeAt(after) === 34 || text.startsWith("/facts", after)) return true;
      if (!text.startsWith(FACT_BUCKETS, after)) return false;
      const key = after + FACT_BUCKETS.length;
      if (text.charCodeAt(key) === 34) return true;
      const end = text.charCodeAt(key + 3);
      return (
        text.charCodeAt(key) === 47 && // '/'
        isHex(text.charCodeAt(key + 1)) &&
        isHex(text.charCodeAt(key + 2)) &&
        (end === 34 || end === 47)
      );
    },
  ],
  [
    "/world",
    (text, after) =>
      text.charCodeAt(after) === 34 ||
      text.startsWith("/npcs", after) ||
      text.startsWith("/locations", after),
  ],
  ["/quests", (text, after) => text.charCodeAt(after) === 34 || text.charCodeAt(after) === 47],
];

/**
 * Whether `text` holds what OLD_PATH matches. A page holds hundreds of today's paths and
 * megabytes of quotes between them: finding each root with indexOf and looking at its neighbours
 * passes over the quotes, at each of which the pattern stops to try a match.
 */
export function holdsOldPath(text: string): boolean {
  for (const [root, old] of OLD_ROOTS) {
    for (let at = text.indexOf(root); at !== -1; at = text.indexOf(root, at + root.length)) {
      if (text.charCodeAt(at - 1) === 34 && old(text, at + root.length)) return true; // '"'
    }
  }
  return false;
}

/**
 * The turn's JSON as the API would send it, put together from the stored text without parsing
 * it (only deltas of an older state version are parsed, to be upgraded as every reader sees them).
 */
export function turnJson(turn: TurnText): string {
  const deltas =
    turn.deltas === null
      ? "[]"
      : OLD_PATH.test(turn.deltas)
        ? JSON.stringify(upgradeDeltas(JSON.parse(turn.deltas) as Delta[]))
        : turn.deltas;
  return `{"universeId":${JSON.stringify(turn.universeId)},"position":${turn.position},"id":${JSON.stringify(turn.id)},"runId":${JSON.stringify(turn.runId)},"characterId":${JSON.stringify(turn.characterId)},"playerId":${JSON.stringify(turn.playerId)},"actor":"${turn.actor}","kind":"${turn.kind}","input":${turn.input},"resolution":${turn.resolution ?? "null"},"events":${turn.events},"deltas":${deltas},"status":"${turn.status}","narration":${turn.narration ?? "null"},"createdAt":"${turn.createdAt}"}`;
}

/** The turn parsed from its stored text (deltas empty when read without them). */
export function parseTurn(turn: TurnText): Turn {
  return {
    universeId: turn.universeId,
    position: turn.position,
    id: turn.id,
    runId: turn.runId,
    characterId: turn.characterId,
    playerId: turn.playerId,
    actor: turn.actor,
    kind: turn.kind,
    input: JSON.parse(turn.input) as Turn["input"],
    resolution: turn.resolution === null ? null : (JSON.parse(turn.resolution) as Turn["resolution"]),
    events: JSON.parse(turn.events) as Turn["events"],
    deltas: turn.deltas === null ? [] : upgradeDeltas(JSON.parse(turn.deltas) as Delta[]),
    status: turn.status,
    narration: turn.narration === null ? null : (JSON.parse(turn.narration) as Turn["narration"]),
    createdAt: turn.createdAt,
  };
}

/** The turns in (from, to], a page at a time, in position order. */
export async function* turnPages(
  store: TurnStore,
  universeId: string,
  from: number,
  to: number,
  pageSize = EXPORT_PAGE,
): AsyncGenerator<Turn[]> {
  for (let after = from; after < to; after += pageSize) {
    const page = await store.turnsBetween(universeId, after, Math.min(after + pageSize, to));
    if (page.length > 0) yield page;
  }
}

/** Progress of a long job: `done` of `total` units. */
export type Progress = (done: number, total: number) => void;
