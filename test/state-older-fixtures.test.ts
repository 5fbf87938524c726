import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checksum,
  factPath,
  npcPath,
  readFact,
  readNpc,
  reexecute,
  replayDeltas,
  seededDice,
  STATE_VERSION,
  upcastState,
} from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { services } from "../server/src/services.ts";
import { loadFixture, OLDER_VERSIONS } from "../server/src/persist/testing/fixture.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";

/**
 * Campaigns recorded by older state versions (test/fixtures/campaign-v<N>.json, made by
 * scripts/make-state-fixture.ts on the last commit of each version) under the current version:
 * replay and re-execution in the pure core, then the whole server serving them.
 */
for (const { version, read, downcast } of OLDER_VERSIONS) {
  const fixture = read();
  const genesis = upcastState(fixture.universe.snapshots[0]!.state);

  describe(`a state version ${version} campaign, replayed by the current rules`, () => {
    it(`delta replay reaches, at every position, the state version ${version} checksummed there`, () => {
      let state = genesis;
      for (const turn of fixture.universe.turns) {
        state = replayDeltas(state, [turn]);
        expect(checksum(downcast(state)), `position ${turn.position}`).toBe(
          fixture.universe.checksums[turn.position],
        );
      }
      expect(state.version).toBe(STATE_VERSION);
    });

    it("re-execution decides every recorded command again to the same (translated) deltas, the branch's too", () => {
      // given the recorded turns and the dice they were rolled with
      const dice = seededDice(fixture.seed);
      // when they are decided again by the current rules on the current layout
      const main = reexecute(genesis, fixture.universe.turns, dice);
      const shared = fixture.universe.turns.filter((turn) => turn.position <= fixture.branch.position);
      const branch = reexecute(genesis, [...shared, ...fixture.branch.turns], dice);
      // then nothing diverges, and both end where the older version ended
      expect(main.divergedAt).toBeNull();
      expect(checksum(downcast(main.state))).toBe(fixture.universe.checksums[160]);
      expect(branch.divergedAt).toBeNull();
      expect(checksum(downcast(branch.state))).toBe(fixture.branch.checksums[140]);
    });
  });

  for (const mode of modes()) {
    describe.skipIf(!mode.available)(
      `a state version ${version} campaign served by the server (${mode.name})`,
      () => {
        let server: LoomServer & { url: string };
        beforeAll(async () => {
          server = await startServer(mode);
        });
        afterAll(async () => {
          await server?.shutdown();
        });

        it(`jumps, acts, undoes a version ${version} turn, branches and verifies over the real server`, async () => {
          // given an older universe and its branch in the server's store, its game master registered
          const gm = connect(server.url);
          const { player: master } = await gm.registerPlayer("Game Master");
          const loaded = await loadFixture(services().turnStore, fixture, randomUUID(), master.id);
          const id = loaded.universeId;
          await gm.setVisibility(id, "public");

          // when the game master jumps into its history over HTTP
          for (const position of [0, 40, 99, 100, 157, 160]) {
            const at = await gm.stateAt(id, position);
            // then each position shows the current version of what the older version recorded there
            expect(at.state.version).toBe(STATE_VERSION);
            expect(checksum(downcast(at.state))).toBe(
              position === 0 ? fixture.universe.snapshots[0]!.checksum : fixture.universe.checksums[position],
            );
            expect(at.checksum).toBe(checksum(at.state));
          }
          const branchHead = await gm.stateAt(loaded.branchId, 140);
          expect(checksum(downcast(branchHead.state))).toBe(fixture.branch.checksums[140]);

          // when the table plays on: the game master records a fact the version 1 way, a new player acts
          const table = await gm.joinUniverse(id, { role: "gm" });
          const legend = {
            id: "legend",
            type: "note" as const,
            value: "The bell rings twice",
            confidence: 1,
            sourcePosition: 161,
            supersededAt: null,
          };
          const event = await table.act({
            kind: "world_event",
            text: "A legend spreads",
            major: false,
            deltas: [{ op: "set", path: "/canon/facts/legend", value: legend }],
          });
          expect(event.ok && event.turn.position).toBe(161);
          expect(event.ok && event.turn.deltas).toContainEqual({
            op: "set",
            path: factPath("legend"),
            value: legend,
          });
          const ada = connect(server.url);
          await ada.registerPlayer("Ada");
          const { character, run } = await ada.createCharacter(id, sheet("Ada"));
          const seat = await ada.joinUniverse(id, { role: "player", runId: run.id });
          const action = await seat.act(overcome(character.id));
          expect(action.ok).toBe(true);
          const head = action.ok ? action.turn.position : 0;

          // and the game master undoes turn 158, recorded by the older version (it set an attitude and
          // its relationship fact)
          const before158 = (await gm.stateAt(id, 157)).state;
          const undo = await gm.undo(id, 158);
          expect(undo.deltas.some((delta) => delta.path === factPath("relationship-veyra-mara"))).toBe(true);
          expect(undo.deltas.some((delta) => delta.path === npcPath("veyra", "attitudes", "mara"))).toBe(
            true,
          );
          await waitFor(() => table.persistedThrough >= undo.position, 10_000, "the undo persisted");

          // then the state has the fact as it stood before turn 158, and the new one
          const now = await gm.stateAt(id);
          expect(now.position).toBe(head + 1);
          expect(readFact(now.state, "relationship-veyra-mara")).toEqual(
            readFact(before158, "relationship-veyra-mara"),
          );
          expect(readNpc(now.state, "veyra")?.attitudes).toEqual(readNpc(before158, "veyra")?.attitudes);
          expect(readFact(now.state, "legend")).toEqual(legend);
          expect((await gm.turn(id, 158)).status).toBe("undone");

          // when a snapshot is taken and the game master branches inside the older history
          const snapshotAt = await gm.snapshot(id);
          const branch = await gm.branch(id, 150, "Otherwise, at 150");
          const fork = await gm.joinUniverse(branch.id, { role: "gm" });
          const forked = await fork.act({ kind: "world_event", text: "The tide turns early", major: false });
          expect(forked.ok && forked.turn.position).toBe(151);
          await waitFor(() => fork.persistedThrough >= 151, 10_000, "the branch's turn persisted");

          // then the branch starts from the parent's state at 150, and every snapshot verifies, old and new
          expect((await gm.stateAt(branch.id, 150)).state).toEqual((await gm.stateAt(id, 150)).state);
          expect((await gm.stateAt(branch.id, 151)).state.version).toBe(STATE_VERSION);
          await waitFor(
            async () =>
              (await services().turnStore.getSnapshotAtOrBefore(id, snapshotAt))?.position === snapshotAt,
            10_000,
            "the snapshot written",
          );
          for (const position of [0, 40, 80, 120, 160, snapshotAt])
            await services().turnStore.verifySnapshot(id, position);
          await services().turnStore.verifySnapshot(loaded.branchId, 120);

          await Promise.all([table.leave(), seat.leave(), fork.leave()]);
        }, 60_000);
      },
    );
  }
}
