import { randomUUID } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { applyDeltas, type TimelineQuery, type Turn } from "@loom/shared";
import { DrizzleTurnStore } from "./drizzle-turn-store.ts";
import { createTurnStore, migrationsFolder, openDatabase, type TurnStoreOptions } from "./index.ts";
import type { TurnStore } from "./turn-store.ts";
import { buildUniverse, freshId } from "./testing/build.ts";
import { templateNarration } from "./testing/narration.ts";

/**
 * Full-text search behind the log (search-index.ts): a search gives the same turns whether the
 * indexer has reached them or not, through branches; narration written before or after the
 * indexer passes is found; a store that stops before indexing leaves the marks behind, and the
 * next one started with `catchUp` brings them to the head; a database from before the indexer
 * is moved over by its migration.
 */

const databaseUrl = process.env.DATABASE_URL;
const scratch = mkdtempSync(join(tmpdir(), "loom-search-index-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The indexer never runs on its own: only `settle` moves it. */
const IDLE = { delayMs: 3_600_000 };

const narration = templateNarration;

/** Every position a search finds, all pages. */
async function found(store: TurnStore, universeId: string, query: TimelineQuery): Promise<number[]> {
  const positions: number[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await store.timeline(universeId, { ...query, limit: 500, cursor });
    positions.push(...page.turns.map((turn) => turn.position));
    if (page.nextCursor === null) return positions;
    cursor = page.nextCursor;
  }
}

/** Words to search for: the first and last word of some turns' text, and a phrase. */
function queriesOf(turns: Turn[]): TimelineQuery[] {
  const texts = turns
    .filter((_, i) => i % 17 === 3)
    .map(
      (turn) =>
        [turn.input.description, turn.input.text, turn.narration?.text].find((t) => typeof t === "string") ??
        "",
    )
    .filter((text) => text.trim() !== "");
  const words = texts.flatMap((text: string) => {
    const split = text.split(/\s+/);
    return [split[0]!, split[split.length - 1]!.replace(/\W/g, "")];
  });
  return [...new Set(words)]
    .filter((word) => word !== "")
    .map((q): TimelineQuery => ({ q }))
    .concat([{ q: '"the marsh"' }, { q: "zzzunfound" }, { q: `${words[0]} -${words[1]}` }]);
}

/** Each query finds in the store exactly the turns its document matches, evaluated on the turns themselves. */
async function expectSearchesExact(store: TurnStore, universeId: string, queries: TimelineQuery[]) {
  const head = await store.headPosition(universeId);
  const turns = await store.turnsBetween(universeId, 0, head);
  for (const query of queries)
    expect(await found(store, universeId, query), JSON.stringify(query)).toEqual(
      await store.matchingTurns(turns, query),
    );
}

function describeSearchBehindTheLog(name: string, open: (options: TurnStoreOptions) => Promise<TurnStore>) {
  describe(`search behind the log: ${name}`, () => {
    it("finds the same turns before and after the indexer passes them, through a branch, narration included", async () => {
      const store = await open({ searchIndex: IDLE });
      try {
        // given a universe of 150 turns and a branch of it at 60 with 40 of its own, nothing indexed
        // (the root's turns without narration, so that one can be written later)
        const root = await buildUniverse(store, { turns: 150, batch: 50 });
        const branchId = freshId("branch");
        await store.branchUniverse({
          id: branchId,
          parentId: root.id,
          position: 60,
          name: "B",
          createdBy: "gm",
        });
        const own = await buildUniverse(store, {
          id: branchId,
          turns: 40,
          batch: 40,
          narrate: true,
          branchOf: { state: (await store.stateAt(root.id, 60)).state, position: 60 },
        });
        expect(await store.setNarration(root.id, 20, narration("A glimmerwick lantern sways."))).toBe(true);
        const queries = [...queriesOf([...root.turns, ...own.turns]), { q: "glimmerwick" }];
        expect(await store.searchIndexedThrough(root.id)).toBe(0);
        // then every search finds what the turns' documents match, read from the rows
        await expectSearchesExact(store, root.id, queries);
        await expectSearchesExact(store, branchId, queries);
        expect(await found(store, branchId, { q: "glimmerwick" })).toEqual([20]);

        // when the indexer has passed them all
        await store.settleSearchIndex();
        // (through the last whole block of 32: the rest waits for the blocks to fill)
        expect(await store.searchIndexedThrough(root.id)).toBe(128);
        expect(await store.searchIndexedThrough(branchId)).toBe(96);
        // then the same, read from the index
        await expectSearchesExact(store, root.id, queries);
        await expectSearchesExact(store, branchId, queries);

        // and a narration written after the indexer passed its turn is found, in its timelines only
        expect(await store.setNarration(root.id, 30, narration("The quorveline tide turns."))).toBe(true);
        expect(await store.setNarration(root.id, 100, narration("A quorveline gull cries."))).toBe(true);
        expect(await found(store, root.id, { q: "quorveline" })).toEqual([30, 100]);
        expect(await found(store, branchId, { q: "quorveline" })).toEqual([30]);
      } finally {
        await store.close();
      }
    }, 120_000);
  });
}

describeSearchBehindTheLog("pglite (in memory)", (options) =>
  createTurnStore({ inMemory: true, ...options }),
);
describe.skipIf(!databaseUrl)("postgres", () => {
  describeSearchBehindTheLog("postgres", (options) => createTurnStore({ databaseUrl, ...options }));
});

describe("the indexer passes over a universe only when a block is whole", () => {
  it("pglite: appends that leave the head inside the marked block make no statement", async () => {
    const opened = await openDatabase({ inMemory: true });
    let statements = 0;
    const counted = new Proxy(opened.db, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (key !== "execute" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          statements += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const store = new DrizzleTurnStore(opened.driver, counted, () => opened.close(), undefined, IDLE);
    const passOver = async () => {
      statements = 0;
      await store.settleSearchIndex();
      return statements;
    };
    const append = async (built: { id: string; campaign: { next(): Turn } }, head: number, count: number) => {
      const turns = Array.from({ length: count }, () => built.campaign.next());
      await store.appendTurns(built.id, { expectedHead: head, turns });
    };
    try {
      // given a universe of 40 turns indexed through its first block
      const built = await buildUniverse(store, { turns: 40, batch: 10, snapshotEvery: 0 });
      expect(await passOver()).toBe(1);
      expect(await store.searchIndexedThrough(built.id)).toBe(32);
      // when appends bring the head to 60, still inside the block after the mark
      await append(built, 40, 10);
      await append(built, 50, 10);
      // then the indexer makes no statement
      expect(await passOver()).toBe(0);
      // and once the head passes that block, one pass indexes it
      await append(built, 60, 10);
      expect(await passOver()).toBe(1);
      expect(await store.searchIndexedThrough(built.id)).toBe(64);
    } finally {
      await store.close();
    }
  });
});

describe("a restart leaves no turn unindexed", () => {
  it("pglite on disk: the next store started with catchUp indexes what the last one left", async () => {
    const dataDir = join(scratch, `restart-${randomUUID()}`);
    // given a store that stops before its indexer ran
    const first = await createTurnStore({ dataDir, searchIndex: IDLE });
    const built = await buildUniverse(first, { turns: 2_500, batch: 500, narrate: true });
    await first.close();
    // when the next one starts with catchUp
    const next = await createTurnStore({ dataDir, searchIndex: { ...IDLE, catchUp: true } });
    try {
      await next.settleSearchIndex();
      // then the universe is indexed through its head, and found from the index
      expect(await next.searchIndexedThrough(built.id)).toBe(2_496);
      await expectSearchesExact(next, built.id, queriesOf(built.turns.slice(-300)));
    } finally {
      await next.close();
    }
  }, 120_000);
});

/** The migrations before the search table: the journal cut before `search_off_append`. */
function migrationsBeforeSearchTable(): string {
  const folder = join(scratch, `migrations-${randomUUID()}`);
  mkdirSync(join(folder, "meta"), { recursive: true });
  const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta/_journal.json"), "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  const cut = journal.entries.findIndex((entry) => entry.tag.endsWith("_search_off_append"));
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify(journal));
  for (const file of readdirSync(migrationsFolder)) {
    if (journal.entries.some((entry) => file === `${entry.tag}.sql`))
      copyFileSync(join(migrationsFolder, file), join(folder, file));
  }
  return folder;
}

describe.skipIf(!databaseUrl)(
  "upgrading a database whose turns are searched through an index on turns",
  () => {
    it("postgres: moves every turn's document to turn_search and marks each universe indexed", async () => {
      const name = `loom_search_upgrade_${randomUUID().replace(/-/g, "")}`;
      const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = new URL(databaseUrl!);
      url.pathname = `/${name}`;
      try {
        // given universes written on the schema before the search table (its appends touch only turns)
        const old = await openDatabase({
          databaseUrl: url.href,
          migrationsFolder: migrationsBeforeSearchTable(),
        });
        const oldStore = new DrizzleTurnStore(old.driver, old.db, () => old.close(), undefined, IDLE);
        const root = await buildUniverse(oldStore, {
          partedSnapshots: false,
          turns: 300,
          batch: 100,
          narrate: true,
        });
        const branchId = freshId("branch");
        await oldStore.branchUniverse({
          id: branchId,
          parentId: root.id,
          position: 120,
          name: "B",
          createdBy: "gm",
        });
        const own = await buildUniverse(oldStore, {
          partedSnapshots: false,
          id: branchId,
          turns: 50,
          batch: 50,
          narrate: true,
          // (from the rules, not the old store: this build reads its snapshots by part)
          branchOf: {
            state: applyDeltas(
              root.campaign.genesis,
              root.turns.slice(0, 120).flatMap((turn) => turn.deltas),
            ),
            position: 120,
          },
        });
        await oldStore.close();
        // when the store opens it with every migration
        const store = await createTurnStore({ databaseUrl: url.href, searchIndex: IDLE });
        try {
          // then both are indexed through their heads, and found as before
          expect(await store.searchIndexedThrough(root.id)).toBe(288);
          expect(await store.searchIndexedThrough(branchId)).toBe(160);
          const queries = queriesOf([...root.turns, ...own.turns]);
          await expectSearchesExact(store, root.id, queries);
          await expectSearchesExact(store, branchId, queries);
        } finally {
          await store.close();
        }
      } finally {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    }, 120_000);
  },
);
