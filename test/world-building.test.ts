import { readNpc, readQuest } from "@loom/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modes, startServer, waitFor } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { joinAll, setTable } from "./support/players.ts";

/** A game master builds the world with typed commands over the room; players see what is theirs to see. */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`typed world-building through the room (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2598 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("an NPC, a quest and a scene with aspects, without a single delta written by hand", async () => {
      const table = await setTable(server.url, ["Mara"]);
      const [mara] = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const npc = await gm.act({
        kind: "npc",
        op: "add",
        id: "quell",
        name: "Harbourmaster Quell",
        gmNotes: "Takes bribes",
      });
      expect(npc.ok).toBe(true);
      const quest = await gm.act({ kind: "quest", op: "start", id: "bell", title: "Find the Bell" });
      expect(quest.ok).toBe(true);
      const scene = await gm.act({ kind: "scene", title: "The Quay at Dusk", aspects: ["Slick Stones"] });
      expect(scene.ok).toBe(true);
      const refused = await mara!.act({ kind: "npc", op: "remove", id: "quell" });
      expect(refused).toMatchObject({ ok: false, rejection: { code: "not_allowed" } });

      const last = scene.ok ? scene.turn.position : 0;
      await waitFor(() => mara!.turns.at(-1)?.position === last, 5_000, "the player to see the turns");
      expect(JSON.stringify(mara!.turns)).not.toContain("bribes");
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= last,
        5_000,
        "persisted",
      );
      const state = await table.gm.stateAt(table.universeId);
      expect(readNpc(state.state, "quell")).toMatchObject({
        name: "Harbourmaster Quell",
        gmNotes: "Takes bribes",
      });
      expect(readQuest(state.state, "bell")).toMatchObject({ title: "Find the Bell", state: "active" });
      expect(Object.values(state.state.scene.aspects).map((a) => a.name)).toEqual(["Slick Stones"]);
      await Promise.all([mara!.leave(), gm.leave()]);
    });

    it("a GM's picker reads the world's names at the head, the acknowledged turns included; a player may not", async () => {
      const table = await setTable(server.url, ["Tam"]);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      expect(await table.gm.worldNames(table.universeId)).toMatchObject({
        npc: [],
        location: [],
        faction: [],
        quest: [],
      });
      await gm.act({ kind: "npc", op: "add", id: "wick", name: "Old Wick", gmNotes: "Knows the tide" });
      await gm.act({ kind: "npc", op: "add", id: "ada", name: "Ada Reed" });
      await gm.act({ kind: "quest", op: "start", id: "bell", title: "Find the Bell" });
      const added = await gm.act({
        kind: "location",
        op: "add",
        id: "quay",
        name: "The Quay",
        region: "Saltgate",
      });
      expect(added.ok).toBe(true);
      // read at once: what is acknowledged counts, persisted or not
      const names = await table.gm.worldNames(table.universeId);
      expect(names).toEqual({
        position: added.ok ? added.turn.position : -1,
        npc: [
          { id: "ada", label: "Ada Reed (neutral)" },
          { id: "wick", label: "Old Wick (neutral)" },
        ],
        location: [{ id: "quay", label: "The Quay, Saltgate" }],
        faction: [],
        quest: [{ id: "bell", label: "Find the Bell (active)" }],
      });
      expect(JSON.stringify(names)).not.toContain("tide");
      const player = table.players[0]!.client;
      await expect(player.worldNames(table.universeId)).rejects.toMatchObject({
        status: 403,
        code: "not_allowed",
      });
      await gm.leave();
    });
  });
}
