import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checksum,
  createRandom,
  decide,
  evolve,
  factPath,
  isRejection,
  readFact,
  readNpc,
  STATE_VERSION,
  upgradeDelta,
  upgradeDeltas,
} from "@loom/shared";
import type { DecidableCommand, Snapshot, Turn, UniverseState } from "@loom/shared";
import { ChecksumMismatchError } from "./turn-store.ts";
import type { TurnStore } from "./turn-store.ts";
import { loadFixture, OLDER_VERSIONS } from "./testing/fixture.ts";
import type { LoadedFixture } from "./testing/fixture.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;

/**
 * The rules a TurnStore keeps for a campaign stored by an older state version (test/fixtures/
 * campaign-v1.json, campaign-v2.json) once the server runs a later version: it reads, jumps,
 * verifies, branches and grows as if it had been recorded yesterday. Numbered like the main
 * contract; both campaigns are the same seeded play, so the same turns serve as examples.
 */
export function describeOlderVersionContract(name: string, factory: () => Promise<TurnStore>): void {
  for (const older of OLDER_VERSIONS) describeOlderVersion(name, factory, older);
}

function describeOlderVersion(
  name: string,
  factory: () => Promise<TurnStore>,
  { version, read, downcast }: (typeof OLDER_VERSIONS)[number],
): void {
  describe(`TurnStore with a state version ${version} campaign: ${name}`, () => {
    const fixture = read();
    let store: TurnStore;
    let loaded: LoadedFixture;

    beforeAll(async () => {
      store = await factory();
      loaded = await loadFixture(store, fixture, randomUUID());
    }, 60_000);
    afterAll(async () => {
      await store?.close();
    });

    it(`rule v1.1: every version ${version} snapshot verifies, the branch's included`, async () => {
      expect(fixture.stateVersion).toBe(version);
      expect(STATE_VERSION).toBeGreaterThan(version);
      for (const snapshot of fixture.universe.snapshots)
        await store.verifySnapshot(loaded.universeId, snapshot.position);
      for (const snapshot of fixture.branch.snapshots)
        await store.verifySnapshot(loaded.branchId, snapshot.position);
    });

    it(`rule v1.2: a jump to any position gives the current version of the state version ${version} recorded there`, async () => {
      const timelines = [
        { id: loaded.universeId, checksums: fixture.universe.checksums },
        { id: loaded.branchId, checksums: fixture.branch.checksums },
      ];
      for (const { id, checksums } of timelines) {
        for (const [position, recorded] of Object.entries(checksums)) {
          const at = await store.stateAt(id, Number(position));
          expect(at.state.version).toBe(STATE_VERSION);
          expect(checksum(downcast(at.state)), `${id}@${position}`).toBe(recorded);
          expect(at.checksum).toBe(checksum(at.state));
        }
      }
      // at a snapshot itself too: the checksum is the returned state's, not the stored document's
      const at160 = await store.stateAt(loaded.universeId, 160);
      expect(at160.replayed).toBe(0);
      expect(at160.checksum).toBe(checksum(at160.state));
    });

    it("rule v1.3: turns read back carry their deltas in the current layout, and nothing else changes", async () => {
      const read = [
        ...(await store.turnsBetween(loaded.universeId, 0, 160)),
        ...(await store.turnsBetween(loaded.branchId, 100, 140)),
      ];
      const stored = [...loaded.turns.universe, ...loaded.turns.branch];
      expect(read.map(({ status: _s, ...turn }) => turn)).toEqual(
        stored.map(({ status: _s, ...turn }) => ({ ...turn, deltas: upgradeDeltas(turn.deltas) })),
      );
      expect(read.filter((turn) => turn.deltas.some((delta) => upgradeDelta(delta) !== delta))).toEqual([]);
      expect(stored.some((turn) => turn.deltas.some((delta) => upgradeDelta(delta) !== delta))).toBe(true);
      expect(read.filter((turn) => turn.status === "undone").map((turn) => turn.position)).toEqual(
        stored.filter((turn) => turn.status === "undone").map((turn) => turn.position),
      );
    });

    it(`rule v1.4: a version ${version} snapshot edited under its checksum, or forged with a new one, fails verification`, async () => {
      const honest = (await store.getSnapshotAtOrBefore(loaded.universeId, 80))!;
      expect(honest.state.version).toBe(version);
      const edited = structuredClone(honest.state) as unknown as UniverseState;
      edited.characters.mara!.fatePoints += 1;
      await rewriteSnapshot(store, { ...honest, state: edited });
      await expect(store.verifySnapshot(loaded.universeId, 80)).rejects.toBeInstanceOf(ChecksumMismatchError);
      await rewriteSnapshot(store, { ...honest, state: edited, checksum: checksum(edited) });
      await expect(store.verifySnapshot(loaded.universeId, 80)).rejects.toBeInstanceOf(ChecksumMismatchError);
      await rewriteSnapshot(store, honest);
      await store.verifySnapshot(loaded.universeId, 80);
    });

    it(`rule v1.5: new turns append on top of version ${version} history: undo of a version ${version} fact, facts, snapshots, branches`, async () => {
      // given the older universe at its head, and its recent timeline as the server reads it
      const id = loaded.universeId;
      let state = (await store.latestState(id)).state;
      const timeline = await store.turnsBetween(id, 120, 160);
      const before = (await store.stateAt(id, 157)).state;
      expect(readFact(state, "relationship-veyra-mara")).not.toEqual(
        readFact(before, "relationship-veyra-mara"),
      );

      // when a game master undoes turn 158 (recorded by the older version: it set an NPC's
      // attitude and its relationship fact), records a fact by the version 1 address, and a
      // snapshot is taken
      const undo = play(state, { kind: "undo", targetPosition: 158 }, 161, timeline);
      state = evolve(state, undo.deltas);
      const legend = {
        id: "legend",
        type: "note",
        value: "salt",
        confidence: 1,
        sourcePosition: 162,
        supersededAt: null,
      };
      const event = play(
        state,
        {
          kind: "world_event",
          text: "A legend",
          major: false,
          deltas: [{ op: "set", path: "/canon/facts/legend", value: legend }],
        },
        162,
        [...timeline, undo],
      );
      state = evolve(state, event.deltas);
      const snapshot: Snapshot = {
        universeId: id,
        position: 162,
        state,
        checksum: checksum(state),
        reason: "manual",
        createdAt: event.createdAt,
      };
      await store.appendTurns(id, {
        expectedHead: 160,
        turns: [undo, event],
        snapshots: [snapshot],
        undone: [158],
      });

      // then the undo restored the fact and the attitude the older version had before turn 158,
      // the new fact sits in its bucket, the new snapshot verifies against the older one before
      // it, and every jump agrees
      expect(undo.deltas.every((delta) => upgradeDelta(delta) === delta)).toBe(true);
      expect(readFact(state, "relationship-veyra-mara")).toEqual(readFact(before, "relationship-veyra-mara"));
      expect(readNpc(state, "veyra")?.attitudes).toEqual(readNpc(before, "veyra")?.attitudes);
      expect(event.deltas).toContainEqual({ op: "set", path: factPath("legend"), value: legend });
      await store.verifySnapshot(id, 162);
      await store.verifySnapshot(id, 160);
      expect((await store.stateAt(id, 162)).checksum).toBe(checksum(state));
      expect((await store.stateAt(id, 161)).state).toEqual(
        evolve((await store.stateAt(id, 160)).state, undo.deltas),
      );
      expect((await store.getTurn(id, 158))?.status).toBe("undone");

      // and branches taken now, inside the older history and at the new head, read the same states
      const inside = `${id}-at-150`;
      await store.branchUniverse({
        id: inside,
        parentId: id,
        position: 150,
        name: "inside",
        createdBy: "fixture",
      });
      expect((await store.latestState(inside)).state).toEqual((await store.stateAt(id, 150)).state);
      const atHead = `${id}-at-162`;
      await store.branchUniverse({
        id: atHead,
        parentId: id,
        position: 162,
        name: "at head",
        createdBy: "fixture",
      });
      expect((await store.latestState(atHead)).checksum).toBe(checksum(state));
      // and the branch taken under the older version still verifies and jumps
      await store.verifySnapshot(loaded.branchId, 120);
      expect(checksum(downcast((await store.latestState(loaded.branchId)).state))).toBe(
        fixture.branch.checksums[140],
      );
    });
  });
}

/** Replaces a stored snapshot the only way the port allows: an append of no turns that carries it. */
async function rewriteSnapshot(store: TurnStore, snapshot: Snapshot): Promise<void> {
  const head = await store.headPosition(snapshot.universeId);
  await store.appendTurns(snapshot.universeId, { expectedHead: head, turns: [], snapshots: [snapshot] });
}

/** A command decided as the server would at `position`, as the turn it records. */
function play(state: UniverseState, command: DecidableCommand, position: number, timeline: Turn[]): Turn {
  const createdAt = new Date(Date.parse("2026-03-01T18:00:00.000Z") + position * 1000).toISOString();
  const decision = decide(state, command, {
    position,
    now: createdAt,
    random: createRandom(position),
    actor: GM,
    timeline,
  });
  if (isRejection(decision)) throw new Error(`${command.kind} rejected: ${decision.message}`);
  return {
    universeId: timeline[0]!.universeId,
    position,
    id: `${timeline[0]!.universeId}-turn-${position}`,
    runId: null,
    characterId: null,
    playerId: GM.playerId,
    actor: "gm",
    kind: decision.kind,
    input: command,
    resolution: decision.resolution,
    events: decision.events,
    deltas: decision.deltas,
    status: "applied",
    narration: null,
    createdAt,
  };
}
