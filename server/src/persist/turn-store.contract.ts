import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  canonicalJson,
  canonicalWithChecksum,
  checksum,
  diceCommitment,
  invertDeltas,
  selectWhileAway,
} from "@loom/shared";
import type { Narration, Snapshot, Turn, UniverseState } from "@loom/shared";
import {
  AppendConflictError,
  ChecksumMismatchError,
  NotFoundError,
  TooManyUniversesError,
} from "./turn-store.ts";
import { turnRow } from "./turn-rows.ts";
import type { TurnJsonPage, TurnStore } from "./turn-store.ts";
import { buildUniverse, freshId } from "./testing/build.ts";
import { templateNarration } from "./testing/narration.ts";
import type { BuiltUniverse } from "./testing/build.ts";
import { describeRecordsContract } from "./turn-store.records-contract.ts";

/** A turnJsonPage's lines as text, each ending in a newline (checked here), without it. */
function jsonLines(page: TurnJsonPage): string[] {
  expect(page.json.endsWith("\n")).toBe(true);
  return page.json.slice(0, -1).split("\n");
}

/**
 * The rules every TurnStore adapter obeys, numbered so a failure names the rule it broke. Each
 * adapter's test file calls `describeTurnStoreContract` with a factory; ids are fresh per test,
 * so suites may share one database.
 */
export function describeTurnStoreContract(name: string, factory: () => Promise<TurnStore>): void {
  describe(`TurnStore contract: ${name}`, () => {
    let store: TurnStore;
    /** One 10 000-turn universe, appended in batches of 500 with a snapshot every 100 turns. */
    let big: BuiltUniverse;

    beforeAll(async () => {
      store = await factory();
      big = await buildUniverse(store, { turns: 10_000, batch: 500, checksumAt: (p) => p % 97 === 0 });
    }, 120_000);
    afterAll(async () => {
      await store?.close();
    });

    const small = (
      turns: number,
      options: { narrate?: boolean; snapshotEvery?: number; checksumAt?: (position: number) => boolean } = {},
    ) => buildUniverse(store, { turns, batch: 50, ...options });

    it("rule 1: a new universe is at head 0 with its genesis snapshot", async () => {
      const built = await small(0);
      expect(await store.headPosition(built.id)).toBe(0);
      const genesis = await store.getSnapshotAtOrBefore(built.id, 0);
      expect(genesis).toMatchObject({
        position: 0,
        reason: "genesis",
        checksum: checksum(built.campaign.genesis),
      });
      expect((await store.latestState(built.id)).state).toEqual(built.campaign.genesis);
      expect(await store.getUniverse(built.id)).toMatchObject({
        id: built.id,
        headPosition: 0,
        parentId: null,
        status: "active",
      });
      expect((await store.listUniverses({ createdBy: "builder", limit: 1000 })).map((u) => u.id)).toContain(
        built.id,
      );
    });

    it("rule 2: 10 000 turns appended in batches read back exactly as appended", async () => {
      expect(await store.headPosition(big.id)).toBe(10_000);
      expect(await store.turnsBetween(big.id, 0, 10_000)).toEqual(big.turns);
      expect(await store.getTurn(big.id, 4_321)).toEqual(big.turns[4_320]);
      expect(await store.getTurn(big.id, 10_001)).toBeNull();
    });

    it("rule 3: the state at every 97th position equals the live state folded from the deltas", async () => {
      for (let position = 97; position <= 10_000; position += 97) {
        const at = await store.stateAt(big.id, position);
        expect(at.checksum, `position ${position}`).toBe(big.checksums.get(position));
        expect(at.fromSnapshot).toBe(Math.floor(position / 100) * 100);
        expect(at.replayed).toBe(position % 100);
      }
      const latest = await store.latestState(big.id);
      expect(latest).toMatchObject({ position: 10_000, replayed: 0, checksum: big.checksums.get(10_000) });
      expect(latest.state).toEqual(big.campaign.state);
    });

    it("rule 3c: latestState as a universe's open reads it (snapshots hashed again, no checksum of its own) gives the same state and the snapshot it came from", async () => {
      const built = await small(157, { snapshotEvery: 50 });
      for (const recheck of [true, false]) {
        const opened = await store.latestState(built.id, { recheck, checksummed: false });
        expect(opened).toMatchObject({ position: 157, fromSnapshot: 150, replayed: 7, checksum: "" });
        expect(checksum(opened.state)).toBe(built.checksums.get(157));
      }
    });

    it("rule 3d: warm prepares a universe's open on several connections at once and changes nothing", async () => {
      const built = await small(57, { snapshotEvery: 50 });
      const universes = await store.listUniverses({ createdBy: "builder", limit: 1000 });
      await store.warm(4);
      await store.warm(1);
      expect(await store.listUniverses({ createdBy: "builder", limit: 1000 })).toEqual(universes);
      expect(await store.headPosition(built.id)).toBe(57);
      const opened = await store.latestState(built.id, { recheck: true, checksummed: false });
      expect(opened).toMatchObject({ position: 57, fromSnapshot: 50, replayed: 7 });
      expect(checksum(opened.state)).toBe(built.checksums.get(57));
    });

    it("rule 3b: stateWithoutChecksum gives the state stateAt gives, from the same snapshot, without the checksum", async () => {
      for (let position = 0; position <= 10_000; position += 1_531) {
        const at = await store.stateWithoutChecksum(big.id, position);
        expect(checksum(at.state), `position ${position}`).toBe(
          big.checksums.get(position) ?? (await store.stateAt(big.id, position)).checksum,
        );
        expect(at).toMatchObject({
          position,
          fromSnapshot: Math.floor(position / 100) * 100,
          replayed: position % 100,
        });
        expect(at).not.toHaveProperty("checksum");
      }
      await expect(store.stateWithoutChecksum(big.id, 10_001)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 4: an append with a stale head is a conflict and writes nothing", async () => {
      const built = await small(10);
      const next = built.campaign.take(2);
      await expect(
        store.appendTurns(built.id, {
          expectedHead: 9,
          turns: next.map((t) => ({ ...t, position: t.position - 1 })),
        }),
      ).rejects.toBeInstanceOf(AppendConflictError);
      await expect(store.appendTurns(built.id, { expectedHead: 11, turns: [] })).rejects.toMatchObject({
        actualHead: 10,
      });
      expect(await store.headPosition(built.id)).toBe(10);
      expect(await store.turnsBetween(built.id, 0, 20)).toEqual(built.turns);
    });

    it("rule 5: of two concurrent writers at the same head exactly one wins, with no gap and no duplicate", async () => {
      const built = await small(5);
      const [a, b] = [built.campaign.take(3), built.campaign.take(3)];
      const rival = b.map((t, i) => ({ ...t, position: 6 + i }));
      const results = await Promise.allSettled([
        store.appendTurns(built.id, { expectedHead: 5, turns: a }),
        store.appendTurns(built.id, { expectedHead: 5, turns: rival }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(AppendConflictError);
      const stored = await store.turnsBetween(built.id, 0, 100);
      expect(stored.map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect([a, rival]).toContainEqual(stored.slice(5));
    });

    it("rule 6: a duplicate key is a conflict and rolls back the whole batch, snapshots and all", async () => {
      const built = await small(3);
      const [next] = built.campaign.take(1);
      const clash = { ...next!, id: built.turns[0]!.id };
      const snapshot = {
        universeId: built.id,
        position: 4,
        state: built.campaign.state,
        checksum: "0".repeat(64),
        reason: "manual" as const,
        createdAt: clash.createdAt,
      };
      await expect(
        store.appendTurns(built.id, { expectedHead: 3, turns: [clash], snapshots: [snapshot] }),
      ).rejects.toBeInstanceOf(AppendConflictError);
      expect(await store.headPosition(built.id)).toBe(3);
      expect((await store.getSnapshotAtOrBefore(built.id, 4))?.position).toBe(0);
      await expect(
        store.appendTurns(built.id, { expectedHead: 3, turns: [{ ...next!, position: 5 }] }),
      ).rejects.toBeInstanceOf(RangeError);
    });

    it("rule 6b: a batch of many COPY pieces, large enough to go without the per-row foreign-key check, goes in whole and in order; a duplicate key in its first or last piece refuses all of it", async () => {
      const built = await small(1);
      const next = built.campaign.take(1_050);
      const firstClash = next.map((t, i) => (i === 3 ? { ...t, id: built.turns[0]!.id } : t));
      const lastClash = next.map((t, i) => (i === 1_048 ? { ...t, id: built.turns[0]!.id } : t));
      for (const turns of [firstClash, lastClash]) {
        await expect(store.appendTurns(built.id, { expectedHead: 1, turns })).rejects.toBeInstanceOf(
          AppendConflictError,
        );
        expect(await store.headPosition(built.id)).toBe(1);
        expect(await store.turnsBetween(built.id, 1, 1_100)).toEqual([]);
      }
      // and in a group commit, beside another universe's batch
      const other = await small(1);
      const outcomes = await store.appendMany([
        { universeId: built.id, batch: { expectedHead: 1, turns: lastClash } },
        { universeId: other.id, batch: { expectedHead: 1, turns: other.campaign.take(2) } },
      ]);
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([false, true]);
      expect(await store.appendTurns(built.id, { expectedHead: 1, turns: next })).toEqual({ head: 1_051 });
      expect(await store.turnsBetween(built.id, 0, 1_100)).toEqual([...built.turns, ...next]);
    });

    it("rule 7: a branch sees its parent's turns up to the branch position and its own after; the parent never sees the branch's", async () => {
      const parent = await small(60, { snapshotEvery: 25 });
      const at = await store.stateAt(parent.id, 40);
      const branchId = freshId("branch");
      const branch = await store.branchUniverse({
        id: branchId,
        parentId: parent.id,
        position: 40,
        name: "What if",
        createdBy: "gm",
      });
      expect(branch).toMatchObject({
        parentId: parent.id,
        branchPosition: 40,
        headPosition: 40,
      });
      // the branch rolls its own positions from a secret of its own, the shared ones as the parent did
      const parentDice = await store.diceChain(parent.id);
      const branchDice = await store.diceChain(branchId);
      expect(branchDice.map((d) => [d.universeId, d.from])).toEqual([
        [branchId, 40],
        [parent.id, 0],
      ]);
      expect(branchDice[1]).toEqual(parentDice[0]);
      expect(branchDice[0]!.secret).not.toBe(parentDice[0]!.secret);
      expect(branch.diceCommitment).toBe(diceCommitment(branchDice[0]!.secret));
      expect(branch.diceCommitment).not.toBe(parentDice[0]!.commitment);
      expect(await store.turnsBetween(branchId, 0, 100)).toEqual(
        parent.turns.slice(0, 40).map((t) => ({ ...t, universeId: branchId })),
      );
      const own = await buildUniverse(store, {
        id: branchId,
        turns: 30,
        batch: 7,
        snapshotEvery: 25,
        branchOf: { state: at.state, position: 40 },
      });
      const seen = await store.turnsBetween(branchId, 0, 100);
      expect(seen.map((t) => t.id)).toEqual([...parent.turns.slice(0, 40), ...own.turns].map((t) => t.id));
      expect(await store.turnsBetween(parent.id, 0, 100)).toEqual(parent.turns);
      expect((await store.stateAt(branchId, 70)).checksum).toBe(own.checksums.get(70));
      expect((await store.stateAt(branchId, 30)).checksum).toBe(
        (await store.stateAt(parent.id, 30)).checksum,
      );
      expect((await store.latestState(parent.id)).checksum).toBe(parent.checksums.get(60));
      await expect(
        store.branchUniverse({
          id: freshId("branch"),
          parentId: parent.id,
          position: 61,
          name: "x",
          createdBy: "gm",
        }),
      ).rejects.toBeInstanceOf(RangeError);
    });

    it("rule 7b: a creator's universes, branches included, are held to the most asked, also when asked at once", async () => {
      const parent = await small(3);
      const creator = freshId("creator");
      const genesis = (await store.latestState(parent.id)).state;
      const create = () =>
        store.createUniverse({ id: freshId("capped"), name: "Capped", createdBy: creator }, genesis, {
          maxByCreator: 3,
        });
      const branch = () =>
        store.branchUniverse({
          id: freshId("capped-branch"),
          parentId: parent.id,
          position: 2,
          name: "Capped branch",
          createdBy: creator,
          maxByCreator: 3,
        });
      const outcomes = await Promise.allSettled([create(), branch(), create(), branch(), create(), branch()]);
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(3);
      for (const outcome of outcomes)
        if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(TooManyUniversesError);
      expect(await store.listUniverses({ createdBy: creator })).toHaveLength(3);
      // the cap is the creator's: another creates on, and without a cap nothing is counted
      await expect(
        store.createUniverse({ id: freshId("other"), name: "Other", createdBy: freshId("other") }, genesis, {
          maxByCreator: 3,
        }),
      ).resolves.toMatchObject({ name: "Other" });
      await expect(
        store.createUniverse({ id: freshId("uncapped"), name: "Uncapped", createdBy: creator }, genesis),
      ).resolves.toMatchObject({ createdBy: creator });
    });

    it("rule 8: a branch of a branch of a 10 000-turn universe follows the whole chain and copies nothing", async () => {
      const first = freshId("branch");
      const started = performance.now();
      await store.branchUniverse({
        id: first,
        parentId: big.id,
        position: 9_950,
        name: "First",
        createdBy: "gm",
      });
      expect(performance.now() - started).toBeLessThan(5_000); // a pointer row, not 9 950 copies
      expect(await store.turnsBetween(first, 9_950, 10_000)).toEqual([]);
      const firstOwn = await buildUniverse(store, {
        id: first,
        turns: 20,
        batch: 20,
        branchOf: { state: (await store.stateAt(big.id, 9_950)).state, position: 9_950 },
      });
      const second = freshId("branch");
      await store.branchUniverse({
        id: second,
        parentId: first,
        position: 9_960,
        name: "Second",
        createdBy: "gm",
      });
      // a branch descends from every universe on its way up, and from no other
      expect(await store.descendsFrom(second, second)).toBe(true);
      expect(await store.descendsFrom(second, first)).toBe(true);
      expect(await store.descendsFrom(second, big.id)).toBe(true);
      expect(await store.descendsFrom(first, second)).toBe(false);
      expect(await store.descendsFrom(big.id, first)).toBe(false);
      expect(await store.descendsFrom(second, freshId("stranger"))).toBe(false);
      expect(await store.descendsFrom(freshId("missing"), big.id)).toBe(false);
      const secondOwn = await buildUniverse(store, {
        id: second,
        turns: 15,
        batch: 15,
        branchOf: { state: (await store.stateAt(first, 9_960)).state, position: 9_960 },
      });
      const seen = await store.turnsBetween(second, 9_940, 10_000);
      expect(seen.map((t) => t.id)).toEqual(
        [...big.turns.slice(9_940, 9_950), ...firstOwn.turns.slice(0, 10), ...secondOwn.turns].map(
          (t) => t.id,
        ),
      );
      expect((await store.latestState(second)).checksum).toBe(secondOwn.checksums.get(9_975));
      expect((await store.stateAt(second, 9_900)).checksum).toBe(big.checksums.get(9_900));
      expect(await store.headPosition(big.id)).toBe(10_000);
      expect(await store.turnsBetween(first, 9_960, 10_000)).toEqual(
        firstOwn.turns.slice(10).map((t) => ({ ...t, universeId: first })),
      );
    });

    it("rule 9: timeline pages follow the cursor both ways, filter, and cross the branch point", async () => {
      const all = big.turns.slice(0, 300);
      const pages = async (query: Parameters<TurnStore["timeline"]>[1]) => {
        const seen: Turn[] = [];
        let cursor: number | undefined;
        for (let guard = 0; guard < 100; guard++) {
          const page = await store.timeline(big.id, { ...query, cursor, limit: 40 });
          seen.push(...page.turns);
          if (page.nextCursor === null) return seen;
          cursor = page.nextCursor;
        }
        throw new Error("too many pages");
      };
      expect((await store.timeline(big.id, { limit: 300 })).turns).toEqual(all);
      const newest = await store.timeline(big.id, { order: "desc", limit: 3 });
      expect(newest).toEqual({ turns: big.turns.slice(-3).reverse(), nextCursor: 9_998 });
      const character = all[0]!.characterId!;
      expect(await pages({ characterId: character })).toEqual(
        big.turns.filter((t) => t.characterId === character),
      );
      const run = big.turns[1]!.runId!;
      const runDesc = await pages({ runId: run, order: "desc" });
      expect(runDesc).toEqual(big.turns.filter((t) => t.runId === run).reverse());
      const choices = await pages({ kind: "choice" });
      expect(choices).toEqual(big.turns.filter((t) => t.kind === "choice"));
      const branchId = freshId("branch");
      await store.branchUniverse({
        id: branchId,
        parentId: big.id,
        position: 100,
        name: "Early",
        createdBy: "gm",
      });
      const own = await buildUniverse(store, {
        id: branchId,
        turns: 30,
        batch: 30,
        branchOf: { state: (await store.stateAt(big.id, 100)).state, position: 100 },
      });
      const across = await store.timeline(branchId, { order: "desc", limit: 50 });
      expect(across.turns.map((t) => t.id)).toEqual(
        [...big.turns.slice(80, 100), ...own.turns].map((t) => t.id).reverse(),
      );
      expect(across.nextCursor).toBe(81);
    });

    it("rule 10: full-text search finds a turn by a word of its narration, input or events, within its timeline", async () => {
      const built = await small(20);
      const narration: Narration = {
        text: "The zeppelin drifts over Quillfeather Marsh.",
        narrator: "template",
        model: null,
        seed: 1,
        promptHash: null,
        tokens: null,
      };
      expect(await store.setNarration(built.id, 12, narration)).toBe(true);
      const found = await store.timeline(built.id, { q: "zeppelins" });
      expect(found.turns.map((t) => t.position)).toEqual([12]);
      expect(found.turns[0]!.narration).toEqual(narration);
      const description = String(built.turns[3]!.input.description ?? built.turns[3]!.input.text);
      const word = description.split(" ")[0]!;
      expect(
        (await store.timeline(built.id, { q: word, limit: 500 })).turns.map((t) => t.position),
      ).toContain(4);
      expect((await store.timeline(big.id, { q: "zeppelin" })).turns).toEqual([]);
      expect(
        (await store.timeline(built.id, { q: '"drifts over" -balloon' })).turns.map((t) => t.position),
      ).toEqual([12]);
    });

    it("rule 11: narration is written once; a second one is ignored", async () => {
      const built = await small(3);
      const first: Narration = {
        text: "First telling.",
        narrator: "template",
        model: null,
        seed: 3,
        promptHash: null,
        tokens: null,
      };
      const second: Narration = {
        ...first,
        text: "Second telling.",
        narrator: "openai-compatible",
        model: "m",
      };
      expect(await store.setNarration(built.id, 2, first)).toBe(true);
      expect(await store.setNarration(built.id, 2, second)).toBe(false);
      expect((await store.getTurn(built.id, 2))?.narration).toEqual(first);
      await expect(store.setNarration(built.id, 9, first)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 11b: many narrations are written in one call, across universes, each turn once", async () => {
      const one = await small(5);
      const two = await small(5);
      const branchId = freshId("branch");
      await store.branchUniverse({
        id: branchId,
        parentId: one.id,
        position: 3,
        name: "Aside",
        createdBy: "gm",
      });
      const told = templateNarration;
      expect(await store.setNarration(one.id, 1, told("already told"))).toBe(true);
      const answers = await store.setNarrations([
        { universeId: one.id, position: 1, narration: told("ignored: position 1 was told") },
        { universeId: one.id, position: 2, narration: told("one@2") },
        { universeId: two.id, position: 2, narration: told("two@2") },
        { universeId: one.id, position: 2, narration: told("ignored: the call told 2 already") },
        // an inherited turn is stored in its parent's row
        { universeId: branchId, position: 3, narration: told("one@3 through the branch") },
      ]);
      expect(answers).toEqual([false, true, true, false, true]);
      expect((await store.getTurn(one.id, 1))?.narration?.text).toBe("already told");
      expect((await store.getTurn(one.id, 2))?.narration?.text).toBe("one@2");
      expect((await store.getTurn(two.id, 2))?.narration?.text).toBe("two@2");
      expect((await store.getTurn(one.id, 3))?.narration?.text).toBe("one@3 through the branch");
      expect(await store.setNarrations([])).toEqual([]);
      // a turn that does not exist refuses the whole call
      await expect(
        store.setNarrations([
          { universeId: two.id, position: 4, narration: told("two@4") },
          { universeId: two.id, position: 9, narration: told("nowhere") },
        ]),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.getTurn(two.id, 4))?.narration).toBeNull();
    });

    it("rule 11c: untoldTurns gives a universe's own turns without narration, oldest first, by page and range, and counts them", async () => {
      const parent = await small(20);
      const at = await store.stateAt(parent.id, 10);
      const branchId = freshId("branch");
      await store.branchUniverse({
        id: branchId,
        parentId: parent.id,
        position: 10,
        name: "Untold",
        createdBy: "gm",
      });
      const own = await buildUniverse(store, {
        id: branchId,
        turns: 12,
        batch: 5,
        branchOf: { state: at.state, position: 10 },
      });
      const told = [11, 12, 14, 20];
      await store.setNarrations(
        told.map((position) => ({
          universeId: branchId,
          position,
          narration: templateNarration(`Turn ${position}.`),
        })),
      );
      const untold = own.turns.filter((turn) => !told.includes(turn.position)).map((turn) => turn.position);
      // the inherited turns, untold in the parent, are the parent's
      const all = await store.untoldTurns(branchId, { after: 0, limit: 100, count: true });
      expect(all.turns.map((turn) => turn.position)).toEqual(untold);
      expect(all.total).toBe(untold.length);
      expect(all.turns[0]).toEqual({
        ...own.turns.find((turn) => turn.position === untold[0])!,
        narration: null,
      });
      expect(all.turns.every((turn) => turn.universeId === branchId)).toBe(true);
      const page = await store.untoldTurns(branchId, { after: 13, through: 19, limit: 3 });
      expect(page).toEqual({ turns: all.turns.filter((t) => t.position > 13).slice(0, 3), total: null });
      expect(
        (await store.untoldTurns(branchId, { after: 13, through: 19, limit: 0, count: true })).total,
      ).toBe(untold.filter((position) => position > 13 && position <= 19).length);
      const parentUntold = await store.untoldTurns(parent.id, { after: 0, limit: 100, count: true });
      expect(parentUntold.turns.map((turn) => turn.position)).toEqual(
        parent.turns.map((turn) => turn.position),
      );
      // a turn told is no longer among them
      await store.setNarration(parent.id, 1, templateNarration("At last."));
      expect((await store.untoldTurns(parent.id, { after: 0, limit: 1 })).turns[0]?.position).toBe(2);
    });

    it("rule 12b: a jump never serves a snapshot whose document does not match its checksum", async () => {
      const built = await small(30, { snapshotEvery: 10, checksumAt: (position) => position === 25 });
      const honest = (await store.getSnapshotAtOrBefore(built.id, 20))!;
      const forged = { ...(honest.state as UniverseState), mode: "downtime" as const };
      // the document changed under its checksum (a damaged or edited row)
      await rewriteSnapshot(store, { ...honest, state: forged });
      const at25 = await store.stateAt(built.id, 25);
      expect(at25.checksum).toBe(built.checksums.get(25));
      expect(at25.fromSnapshot).toBe(10);
      // the state says which snapshot it passed over (opening the universe refuses on it)
      expect(at25.damagedSnapshots).toEqual([20]);
      expect((await store.stateAt(built.id, 20)).checksum).toBe(built.checksums.get(20));
      expect((await store.latestState(built.id)).checksum).toBe(built.checksums.get(30));
      expect((await store.stateAt(built.id, 15)).damagedSnapshots).toBeUndefined();
      // nor does a jump without the checksum (a document this small is read at every jump: no
      // state is kept from it, LOOM_KEPT_STATES_FROM_KB; turn-store.test.ts keeps them)
      const unchecked = await store.stateWithoutChecksum(built.id, 25);
      expect(checksum(unchecked.state)).toBe(built.checksums.get(25));
      expect(unchecked).toMatchObject({ fromSnapshot: 10, replayed: 15, damagedSnapshots: [20] });
      // a repair writes the snapshot again in place; the list names every snapshot of the timeline
      await store.replaceSnapshot(honest);
      expect((await store.stateAt(built.id, 25)).damagedSnapshots).toBeUndefined();
      const listed = await store.listSnapshots(built.id);
      expect(listed.map((s) => s.position).slice(0, 3)).toEqual([0, 10, 20]);
      expect(listed[2]).toMatchObject({
        universeId: built.id,
        storedIn: built.id,
        checksum: honest.checksum,
      });
      await rewriteSnapshot(store, honest);
    });

    it("rule 11b: a retelling is appended to a turn's narration; the first telling is kept as it was", async () => {
      const built = await small(3);
      const first: Narration = {
        text: "First telling.",
        narrator: "template",
        model: null,
        seed: 3,
        promptHash: null,
        tokens: null,
      };
      const again = { ...first, text: "Told again.", seed: 4 };
      const third = { ...first, text: "Told a third time.", seed: 5 };
      expect(await store.appendRetelling(built.id, 2, again)).toBe(false);
      expect((await store.getTurn(built.id, 2))?.narration).toBeNull();
      await store.setNarration(built.id, 2, first);
      expect(await store.appendRetelling(built.id, 2, again)).toBe(true);
      expect(await store.appendRetelling(built.id, 2, third)).toBe(true);
      expect((await store.getTurn(built.id, 2))?.narration).toEqual({ ...first, retellings: [again, third] });
      // the search still finds the turn by its first telling
      expect((await store.timeline(built.id, { q: "First telling" })).turns.map((t) => t.position)).toEqual([
        2,
      ]);
      await expect(store.appendRetelling(built.id, 9, again)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 12: verifySnapshot accepts honest snapshots and reports a tampered one", async () => {
      await store.verifySnapshot(big.id, 0);
      await store.verifySnapshot(big.id, 5_000);
      const built = await small(30, { snapshotEvery: 10 });
      await store.verifySnapshot(built.id, 20);
      const honest = (await store.getSnapshotAtOrBefore(built.id, 20))!;
      const forged = { ...(honest.state as UniverseState), mode: "downtime" as const };
      await rewriteSnapshot(store, { ...honest, state: forged, checksum: checksum(forged) });
      await expect(store.verifySnapshot(built.id, 20)).rejects.toBeInstanceOf(ChecksumMismatchError);
      await rewriteSnapshot(store, { ...honest, state: forged });
      await expect(store.verifySnapshot(built.id, 20)).rejects.toMatchObject({
        name: "ChecksumMismatchError",
        position: 20,
      });
      await rewriteSnapshot(store, honest);
      await store.verifySnapshot(built.id, 20);
      await expect(store.verifySnapshot(built.id, 21)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 12b: a snapshot appended as its canonical JSON is stored as that text and verifies", async () => {
      const built = await small(12);
      const [next] = built.campaign.take(1);
      const { json, checksum: sum } = canonicalWithChecksum(built.campaign.state);
      await store.appendTurns(built.id, {
        expectedHead: 12,
        turns: [next!],
        snapshots: [
          {
            universeId: built.id,
            position: 13,
            stateJson: json,
            checksum: sum,
            reason: "manual",
            createdAt: next!.createdAt,
          },
        ],
      });
      const stored = (await store.getSnapshotAtOrBefore(built.id, 13))!;
      expect(stored).toMatchObject({ position: 13, checksum: sum, reason: "manual" });
      expect(stored.state).toEqual(built.campaign.state);
      await store.verifySnapshot(built.id, 13);
      // the text is what is stored, so text that is not the state fails verification
      const other = built.campaign.genesis;
      await store.appendTurns(built.id, {
        expectedHead: 13,
        turns: built.campaign.take(1),
        snapshots: [
          {
            universeId: built.id,
            position: 14,
            stateJson: canonicalJson(other),
            checksum: sum,
            reason: "manual",
            createdAt: next!.createdAt,
          },
        ],
      });
      expect((await store.getSnapshotAtOrBefore(built.id, 14))!.state).toEqual(other);
      await expect(store.verifySnapshot(built.id, 14)).rejects.toBeInstanceOf(ChecksumMismatchError);
    });

    it("rule 12c: two snapshots of one position in a batch (two requests at one head) store the last", async () => {
      const built = await small(5);
      const { json, checksum: sum } = canonicalWithChecksum(built.campaign.state);
      const manual = {
        universeId: built.id,
        position: 5,
        stateJson: json,
        checksum: sum,
        reason: "manual" as const,
        createdAt: new Date(0).toISOString(),
      };
      const later = { ...manual, createdAt: new Date(1_000).toISOString() };
      await store.appendTurns(built.id, { expectedHead: 5, turns: [], snapshots: [manual, later] });
      expect(await store.getSnapshotAtOrBefore(built.id, 5)).toMatchObject({
        position: 5,
        checksum: sum,
        createdAt: later.createdAt,
      });
      const [next] = built.campaign.take(1);
      expect(await store.appendTurns(built.id, { expectedHead: 5, turns: [next!] })).toEqual({ head: 6 });
    });

    it("rule 13: undone positions are marked in the append that undoes them, per timeline; universeAndTurn reads them so", async () => {
      const built = await small(10);
      const early = freshId("branch");
      await store.branchUniverse({
        id: early,
        parentId: built.id,
        position: 10,
        name: "Before the undo",
        createdBy: "gm",
      });
      const [undo] = built.campaign.take(1);
      const inverse = {
        ...undo!,
        kind: "undo" as const,
        input: { position: 10 },
        deltas: invertDeltas(built.turns[9]!.deltas),
      };
      await store.appendTurns(built.id, { expectedHead: 10, turns: [inverse], undone: [10] });
      expect((await store.getTurn(built.id, 10))?.status).toBe("undone");
      expect((await store.getTurn(built.id, 11))?.status).toBe("applied");
      expect((await store.stateAt(built.id, 11)).checksum).toBe(
        checksum((await store.stateAt(built.id, 9)).state),
      );
      expect((await store.getTurn(early, 10))?.status).toBe("applied");
      const late = freshId("branch");
      await store.branchUniverse({
        id: late,
        parentId: built.id,
        position: 11,
        name: "After the undo",
        createdBy: "gm",
      });
      expect((await store.getTurn(late, 10))?.status).toBe("undone");
      const [branchUndo] = built.campaign.take(1);
      const mark = { ...branchUndo!, universeId: early, position: 11, kind: "undo" as const, deltas: [] };
      await store.appendTurns(early, { expectedHead: 10, turns: [mark], undone: [8] });
      expect((await store.getTurn(early, 8))?.status).toBe("undone");
      expect((await store.getTurn(built.id, 8))?.status).toBe("applied");
      expect((await store.turnsBetween(early, 7, 11)).map((t) => t.status)).toEqual([
        "undone",
        "applied",
        "applied",
        "applied",
      ]);
      // universeAndTurn reads each turn as getTurn does, inherited ones and their marks included,
      // with the universe as getUniverse reads it; no turn at 0 or past the head, no universe unknown
      for (const [id, position] of [
        [built.id, 0],
        [built.id, 8],
        [built.id, 10],
        [built.id, 11],
        [built.id, 12],
        [early, 8],
        [early, 10],
        [early, 11],
        [late, 10],
      ] as const)
        expect(await store.universeAndTurn(id, position)).toEqual({
          universe: await store.getUniverse(id),
          turn: await store.getTurn(id, position),
        });
      expect(await store.universeAndTurn(freshId("missing"), 1)).toBeNull();
      // and so after a narration of an inherited turn and a reveal of the dice: every field of both
      const narration: Narration = {
        text: "Rain on the copper roofs — «again».",
        narrator: "openai-compatible",
        model: "m",
        seed: 7,
        promptHash: "abc",
        tokens: { prompt: 3, completion: 4 },
      };
      expect(await store.setNarration(built.id, 9, narration)).toBe(true);
      await store.revealDice(early);
      const read = await store.universeAndTurn(early, 9);
      expect(read?.turn?.narration).toEqual(narration);
      expect(read?.universe.diceRevealedAt).not.toBeNull();
      expect(read).toEqual({ universe: await store.getUniverse(early), turn: await store.getTurn(early, 9) });
    });

    it("rule 19: turnJsonPage gives the turns turnsBetween gives, a JSON line each, undo marks of the timeline read included, deltas or a story's unread members left out and a type member put in when asked", async () => {
      // given a universe with an undo, and a branch before it that undoes an inherited turn
      const built = await small(10);
      const branch = freshId("branch");
      await store.branchUniverse({
        id: branch,
        parentId: built.id,
        position: 10,
        name: "Aside",
        createdBy: "gm",
      });
      const [undo, mark] = built.campaign.take(2);
      const inverse = { ...undo!, kind: "undo" as const, deltas: invertDeltas(built.turns[9]!.deltas) };
      await store.appendTurns(built.id, { expectedHead: 10, turns: [inverse], undone: [10] });
      const own = { ...mark!, universeId: branch, position: 11, kind: "undo" as const, deltas: [] };
      await store.appendTurns(branch, { expectedHead: 10, turns: [own], undone: [8] });
      // when each timeline is read both ways, then the lines are the turns, page by page
      for (const [id, head] of [
        [built.id, 11],
        [branch, 11],
      ] as const) {
        for (const [from, to] of [
          [0, head],
          [3, 9],
          [9, head],
        ] as const) {
          const page = await store.turnJsonPage(id, from, to);
          const turns = await store.turnsBetween(id, from, to);
          expect(page.turns).toBe(turns.length);
          expect(page.last).toBe(to);
          expect(jsonLines(page).map((line) => JSON.parse(line) as unknown)).toEqual(
            JSON.parse(JSON.stringify(turns)),
          );
        }
      }
      const lean = await store.turnJsonPage(branch, 0, 11, { deltas: false });
      expect(jsonLines(lean).map((line) => JSON.parse(line) as unknown)).toEqual(
        JSON.parse(
          JSON.stringify((await store.turnsBetween(branch, 0, 11)).map((t) => ({ ...t, deltas: [] }))),
        ),
      );
      const story = await store.turnJsonPage(branch, 0, 11, { story: true });
      expect(jsonLines(story).map((line) => JSON.parse(line) as unknown)).toEqual(
        JSON.parse(
          JSON.stringify(
            (await store.turnsBetween(branch, 0, 11)).map(
              ({ universeId: _u, id: _i, playerId: _p, actor: _a, ...rest }) => ({ ...rest, deltas: [] }),
            ),
          ),
        ),
      );
      const typed = await store.turnJsonPage(branch, 0, 11, { type: "turn" });
      expect(jsonLines(typed)).toEqual(
        jsonLines(await store.turnJsonPage(branch, 0, 11)).map((line) => `{"type":"turn",${line.slice(1)}`),
      );
      const [eighth] = jsonLines(await store.turnJsonPage(branch, 7, 8));
      expect(JSON.parse(eighth!)).toMatchObject({ position: 8, status: "undone" });
      expect(await store.turnJsonPage(built.id, 11, 11)).toEqual({ json: "", turns: 0, last: 11 });
    });

    it("rule 20: an import writes a timeline in one transaction; committed, it reads as the appended one, undo marks, snapshots and search included", async () => {
      // given a timeline appended the ordinary way, its last turn undoing a turn of an earlier batch
      const source = await small(120, { narrate: true });
      const [undo] = source.campaign.take(1);
      const inverse = {
        ...undo!,
        kind: "undo" as const,
        input: { targetPosition: 90 },
        deltas: invertDeltas(source.turns[89]!.deltas),
      };
      await store.appendTurns(source.id, { expectedHead: 120, turns: [inverse], undone: [90] });
      const appended = await store.turnsBetween(source.id, 0, 121);
      const snapshot = (await store.getSnapshotAtOrBefore(source.id, 100))!;
      // when its turns are imported as a new universe in two batches, the undo in the second
      const id = freshId("imported");
      const begun = await store.beginImport({
        universe: { id, name: "Imported", createdBy: "gm" },
        genesis: source.campaign.genesis,
      });
      expect(begun.universe).toMatchObject({ id, headPosition: 0, parentId: null });
      const turns = appended.map((turn) => ({ ...turn, universeId: id, id: freshId("turn") }));
      await store.importBatch(begun.importId, {
        expectedHead: 0,
        turns: turns.slice(0, 100),
        snapshots: [{ ...snapshot, universeId: id }],
      });
      expect(
        await store.importBatch(begun.importId, { expectedHead: 100, turns: turns.slice(100), undone: [90] }),
      ).toEqual({ head: 121, savePoints: 0 });
      expect(await store.commitImport(begun.importId)).toMatchObject({ id, headPosition: 121 });
      // then it reads back as the appended timeline, with its own ids
      expect(await store.headPosition(id)).toBe(121);
      expect(await store.turnsBetween(id, 0, 121)).toEqual(turns);
      expect((await store.getTurn(id, 90))?.status).toBe("undone");
      expect((await store.listSnapshots(id)).map((s) => [s.position, s.checksum])).toEqual([
        [0, checksum(source.campaign.genesis)],
        [100, snapshot.checksum],
      ]);
      await expect(store.verifySnapshot(id, 100)).resolves.toBeUndefined();
      expect((await store.stateAt(id, 121)).checksum).toBe((await store.stateAt(source.id, 121)).checksum);
      const word = String(turns[41]!.narration!.text).split(" ")[0]!;
      expect((await store.timeline(id, { q: word, limit: 500 })).turns.map((t) => t.position)).toContain(42);
      await store.settleSearchIndex();
      expect((await store.timeline(id, { q: word, limit: 500 })).turns.map((t) => t.position)).toContain(42);
      // and a branch imported by reference continues its parent
      const branch = freshId("imported-branch");
      const again = await store.beginImport({
        universe: { id: branch, name: "Imported branch", createdBy: "gm" },
        parentId: id,
        position: 100,
      });
      expect(again.universe).toMatchObject({
        id: branch,
        parentId: id,
        branchPosition: 100,
        headPosition: 100,
      });
      const own = turns.slice(100, 110).map((turn) => ({ ...turn, universeId: branch, id: freshId("turn") }));
      await store.importBatch(again.importId, { expectedHead: 100, turns: own, undone: [95] });
      await store.commitImport(again.importId);
      expect(await store.headPosition(branch)).toBe(110);
      expect((await store.getTurn(branch, 95))?.status).toBe("undone");
      expect((await store.getTurn(id, 95))?.status).toBe("applied");
      expect((await store.getTurn(branch, 105))?.id).toBe(own[4]!.id);
    });

    it("rule 20c: an import's turns given as COPY rows read back as the turns, their undo marks in the rows or beside them", async () => {
      const source = await small(40);
      const id = freshId("imported-rows");
      const begun = await store.beginImport({
        universe: { id, name: "Imported as rows", createdBy: "gm" },
        genesis: source.campaign.genesis,
      });
      const turns = source.turns.map((turn) => ({ ...turn, universeId: id, id: freshId("turn") }));
      const rows = (from: number, to: number, undoneBy = new Map<number, number>()) => ({
        universeId: id,
        first: from + 1,
        count: to - from,
        chunks: [
          new TextEncoder().encode(
            turns
              .slice(from, to)
              .map((t) => turnRow(t, undoneBy.get(t.position)))
              .join(""),
          ),
        ],
      });
      // given position 12 undone in its own rows (by 30), and 5 undone beside the rows of a later batch (by 25)
      await store.importBatch(begun.importId, { expectedHead: 0, turns: rows(0, 20, new Map([[12, 30]])) });
      // when rows that do not start at the head come, they are refused
      await expect(
        store.importBatch(begun.importId, { expectedHead: 20, turns: rows(21, 40) }),
      ).rejects.toThrow(RangeError);
      await store.abortImport(begun.importId);
      expect(await store.getUniverse(id)).toBeNull();
      const again = await store.beginImport({
        universe: { id, name: "Imported as rows", createdBy: "gm" },
        genesis: source.campaign.genesis,
      });
      await store.importBatch(again.importId, { expectedHead: 0, turns: rows(0, 20, new Map([[12, 30]])) });
      await store.importBatch(again.importId, {
        expectedHead: 20,
        turns: rows(20, 40),
        marks: [{ position: 5, undoneBy: 25 }],
      });
      await store.commitImport(again.importId);
      // then the timeline reads back as the turns, with the two marks
      expect(await store.headPosition(id)).toBe(40);
      const back = await store.turnsBetween(id, 0, 40);
      expect(back.map((turn) => turn.id)).toEqual(turns.map((turn) => turn.id));
      expect(back.filter((turn) => turn.status === "undone").map((turn) => turn.position)).toEqual([5, 12]);
      expect(back[20]).toEqual(turns[20]);
      expect((await store.stateAt(id, 40)).checksum).toBe((await store.stateAt(source.id, 40)).checksum);
    });

    it("rule 20b: an import abandoned, or one whose batch is refused, leaves nothing behind", async () => {
      const source = await small(60);
      const import_ = async (name: string) => {
        const id = freshId(name);
        const begun = await store.beginImport({
          universe: { id, name, createdBy: "gm" },
          genesis: source.campaign.genesis,
        });
        const turns = source.turns.map((turn) => ({ ...turn, universeId: id, id: freshId("turn") }));
        await store.importBatch(begun.importId, { expectedHead: 0, turns: turns.slice(0, 30) });
        return { id, importId: begun.importId, turns };
      };
      // given an import with a batch written, abandoned
      const abandoned = await import_("abandoned");
      await store.abortImport(abandoned.importId);
      // then neither the universe nor its turns exist (a turn row needs its universe's)
      expect(await store.getUniverse(abandoned.id)).toBeNull();
      await expect(store.turnsBetween(abandoned.id, 0, 30)).rejects.toBeInstanceOf(NotFoundError);
      // given one whose next batch does not follow its head
      const refused = await import_("refused");
      await expect(
        store.importBatch(refused.importId, { expectedHead: 31, turns: refused.turns.slice(31, 40) }),
      ).rejects.toBeInstanceOf(AppendConflictError);
      // then the import is over, and nothing of it was kept
      await expect(store.commitImport(refused.importId)).rejects.toThrow();
      await store.abortImport(refused.importId);
      expect(await store.getUniverse(refused.id)).toBeNull();
      // and a duplicate turn id (the database's own refusal) ends it the same way
      const duplicate = await import_("duplicate");
      const twice = { ...duplicate.turns[30]!, id: duplicate.turns[0]!.id };
      await expect(
        store.importBatch(duplicate.importId, { expectedHead: 30, turns: [twice] }),
      ).rejects.toThrow();
      await store.abortImport(duplicate.importId);
      expect(await store.getUniverse(duplicate.id)).toBeNull();
    });

    it("rule 14: unknown universes and positions beyond the head are not found", async () => {
      const missing = freshId("missing");
      await expect(store.headPosition(missing)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.stateAt(missing, 0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.stateAt(big.id, 10_001)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.appendTurns(missing, { expectedHead: 0, turns: [] })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(await store.getUniverse(missing)).toBeNull();
    });

    it("rule 16: each universe gets its own dice secret, kept out of its record; a reveal is recorded once", async () => {
      const [a, b] = await Promise.all([small(2), small(2)]);
      const [diceA] = await store.diceChain(a.id);
      const [diceB] = await store.diceChain(b.id);
      expect(diceA!.secret).toMatch(/^[0-9a-f]{64}$/);
      expect(diceA!.secret).not.toBe(diceB!.secret);
      expect(diceA).toMatchObject({ from: 0, revealedAt: null, legacyThrough: 0, legacySeed: null });
      const record = (await store.getUniverse(a.id))!;
      expect(record.diceCommitment).toBe(diceCommitment(diceA!.secret));
      const listed = await store.listUniverses({ limit: 1000 });
      for (const universe of [record, ...listed]) {
        expect(JSON.stringify(universe)).not.toContain(diceA!.secret);
        expect(Object.keys(universe)).not.toContain("seed");
      }
      const revealedAt = await store.revealDice(a.id);
      expect((await store.getUniverse(a.id))!.diceRevealedAt).toBe(revealedAt);
      expect(await store.revealDice(a.id)).toBe(revealedAt);
      expect((await store.diceChain(a.id))[0]).toEqual({ ...diceA, revealedAt });
      expect((await store.getUniverse(b.id))!.diceRevealedAt).toBeNull();
      await expect(store.diceChain(freshId("missing"))).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.revealDice(freshId("missing"))).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rule 15: a group commit lands every universe's batch, snapshots and undo marks; a stale or invalid batch is refused alone", async () => {
      const [a, b, c, d] = await Promise.all([small(4), small(4), small(4), small(4)]);
      const [nextA, nextB] = [a.campaign.take(3), b.campaign.take(2)];
      const snapshot = {
        universeId: a.id,
        position: 7,
        state: a.campaign.state,
        checksum: checksum(a.campaign.state),
        reason: "manual" as const,
        createdAt: nextA[2]!.createdAt,
      };
      const undo = { ...nextB[1]!, kind: "undo" as const, input: { targetPosition: 5 } };
      const all = await store.appendMany([
        { universeId: a.id, batch: { expectedHead: 4, turns: nextA, snapshots: [snapshot] } },
        { universeId: b.id, batch: { expectedHead: 4, turns: [nextB[0]!, undo], undone: [5] } },
      ]);
      expect(all).toEqual([
        { ok: true, head: 7 },
        { ok: true, head: 6 },
      ]);
      expect(await store.turnsBetween(a.id, 4, 7)).toEqual(nextA);
      expect((await store.getSnapshotAtOrBefore(a.id, 7))?.position).toBe(7);
      expect((await store.getTurn(b.id, 5))?.status).toBe("undone");

      // one stale head and one batch that does not follow its head: refused, the others land
      const [nextC, nextD] = [c.campaign.take(2), d.campaign.take(1)];
      const mixed = await store.appendMany([
        { universeId: c.id, batch: { expectedHead: 4, turns: nextC } },
        {
          universeId: a.id,
          batch: { expectedHead: 4, turns: [{ ...a.campaign.take(1)[0]!, position: 5 }] },
        },
        { universeId: d.id, batch: { expectedHead: 4, turns: nextD } },
        {
          universeId: b.id,
          batch: { expectedHead: 6, turns: [{ ...b.campaign.take(1)[0]!, position: 9 }] },
        },
      ]);
      expect(mixed[0]).toEqual({ ok: true, head: 6 });
      expect(mixed[1]).toMatchObject({ ok: false, conflict: 7 });
      expect(mixed[2]).toEqual({ ok: true, head: 5 });
      expect(mixed[3]).toMatchObject({ ok: false, conflict: null });
      expect(await store.turnsBetween(c.id, 4, 10)).toEqual(nextC);
      expect(await store.turnsBetween(d.id, 4, 10)).toEqual(nextD);
      expect(await store.headPosition(a.id)).toBe(7);
      expect(await store.headPosition(b.id)).toBe(6);
      expect((await store.turnsBetween(a.id, 0, 10)).map((t) => t.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it("rule 17: awayTurns gives the newest visible major turns of others after a position, counted up to a cap", async () => {
      const mine = big.turns[0]!.characterId!;
      for (const [after, through] of [
        [0, 10_000],
        [9_000, 10_000],
        [5_000, 5_500],
      ] as const) {
        const expected = selectWhileAway(big.turns.slice(0, through), mine, after);
        const away = await store.awayTurns(big.id, {
          after,
          through,
          characterId: mine,
          limit: 20,
          countUpTo: 301,
        });
        expect(away.turns).toEqual(expected.slice(-20));
        expect(away.total).toBe(Math.min(expected.length, 301));
      }

      // hidden, own, bookkeeping and undone turns never count; a branch reads through its parent
      const built = await small(12);
      const major = { type: "news", description: "The tide turns", major: true, hidden: false, data: {} };
      const [p13, p14, p15, p16, p17, p18] = built.campaign.take(6);
      const other = { characterId: "someone-else", runId: null };
      const appended: Turn[] = [
        { ...p13!, ...other, kind: "custom", events: [major] },
        { ...p14!, ...other, kind: "action", events: [major, { ...major, major: false, hidden: true }] },
        {
          ...p15!,
          ...other,
          kind: "action",
          resolution: { ...(p15!.resolution ?? {}), hidden: true } as Turn["resolution"],
          events: [major],
        },
        { ...p16!, characterId: "mine", kind: "custom", events: [major] },
        { ...p17!, characterId: null, runId: null, kind: "world_event", events: [major] },
        { ...p18!, characterId: null, runId: null, kind: "undo", events: [major], deltas: [] },
      ];
      const branchId = freshId("branch");
      await store.appendTurns(built.id, { expectedHead: 12, turns: appended.slice(0, 5) });
      await store.branchUniverse({
        id: branchId,
        parentId: built.id,
        position: 17,
        name: "Kept",
        createdBy: "gm",
      });
      await store.appendTurns(built.id, { expectedHead: 17, turns: appended.slice(5), undone: [17] });
      const query = { after: 12, through: 18, characterId: "mine", limit: 20, countUpTo: 100 };
      const root = await store.awayTurns(built.id, query);
      expect(root.turns.map((turn) => turn.position)).toEqual([13]);
      expect(root.total).toBe(1);
      const branch = await store.awayTurns(branchId, query);
      expect(branch.turns.map((turn) => [turn.position, turn.universeId])).toEqual([
        [13, branchId],
        [17, branchId],
      ]);
      const reference = selectWhileAway(await store.turnsBetween(built.id, 0, 18), "mine", 0);
      expect((await store.awayTurns(built.id, { ...query, after: 0 })).turns).toEqual(reference.slice(-20));
    });

    it("rule 18: matchingTurns picks from given turns exactly what timeline's filters pick from stored ones", async () => {
      const built = await small(40);
      const narration: Narration = {
        text: "Zephyrquills sway above the ferry.",
        narrator: "template",
        model: null,
        seed: 1,
        promptHash: null,
        tokens: null,
      };
      await store.setNarration(built.id, 7, narration);
      const given = built.turns.map((turn) => (turn.position === 7 ? { ...turn, narration } : turn));
      const description = String(built.turns[3]!.input.description ?? built.turns[3]!.input.text);
      const queries = [
        {},
        { characterId: given[0]!.characterId! },
        { runId: given[1]!.runId! },
        { kind: given[2]!.kind },
        { q: "zephyrquill" },
        { q: description.split(" ")[0]! },
        { q: description.split(" ")[0]!, searchPublic: true },
        { q: "zephyrquill", kind: given[6]!.kind, characterId: "nobody" },
      ];
      for (const query of queries) {
        const stored = await store.timeline(built.id, { ...query, limit: 500 });
        expect(await store.matchingTurns(given, query), JSON.stringify(query)).toEqual(
          stored.turns.map((turn) => turn.position),
        );
      }
      expect(await store.matchingTurns(given, { q: "zephyrquill" })).toEqual([7]);
      // a hidden event is no match for a public search, whatever it says
      const fourth = given[3]!;
      const hidden = { ...fourth, events: fourth.events.map((event) => ({ ...event, hidden: true })) };
      const word = description.split(" ")[0]!;
      expect(await store.matchingTurns([hidden], { q: word })).toEqual([4]);
      expect(await store.matchingTurns([hidden], { q: word, searchPublic: true })).toEqual([]);
      expect(await store.matchingTurns([], { q: word })).toEqual([]);
    });

    describeRecordsContract(() => store);
  });
}

/** Writes a snapshot over the one at its position, as an append of no turns does (an upsert). */
export async function rewriteSnapshot(store: TurnStore, snapshot: Snapshot): Promise<void> {
  const head = await store.headPosition(snapshot.universeId);
  await store.appendTurns(snapshot.universeId, { expectedHead: head, turns: [], snapshots: [snapshot] });
}
