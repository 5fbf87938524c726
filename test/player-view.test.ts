import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { overcome, setTable } from "./support/players.ts";

/** What a player reads of their own: the full sheet, and a recap that cannot be missed. */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a player's own view (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2599 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("reads their own full sheet; another player may not, a game master may", async () => {
      const table = await setTable(server.url, ["Mara", "Kell"]);
      const [mara, kell] = table.players;
      const session = await mara!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: mara!.runId,
      });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const noted = await gm.act({
        kind: "world_event",
        text: "The harbour master watches",
        deltas: [{ op: "set", path: `/characters/${mara!.characterId}/gmNotes`, value: "the lost heir" }],
      });
      expect(noted.ok).toBe(true);
      await gm.leave();
      const acted = await session.act(overcome(mara!.characterId));
      expect(acted.ok).toBe(true);
      const position = acted.ok ? acted.turn.position : 0;
      await waitFor(
        async () => (await mara!.client.character(mara!.characterId)).position >= position,
        5_000,
        "persisted",
      );
      const own = await mara!.client.character(mara!.characterId);
      expect(own.character).toMatchObject({ id: mara!.characterId, name: "Mara" });
      expect(own.sheet).toMatchObject({ name: "Mara", private: { notes: expect.any(String) as string } });
      expect(own.sheet!.fatePoints).toBeGreaterThanOrEqual(0);
      await expect(kell!.client.character(mara!.characterId)).rejects.toMatchObject({
        code: "not_your_character",
      });
      // the game master's notes on her are theirs alone
      expect(JSON.stringify(own)).not.toContain("the lost heir");
      expect(own.sheet).not.toHaveProperty("gmNotes");
      // nor does any browser or proxy keep her sheet, private notes and all, once she has read it
      const raw = await fetch(`${server.url}/api/characters/${mara!.characterId}`, {
        headers: { authorization: `Bearer ${mara!.client.playerToken!}` },
      });
      expect(raw.status).toBe(200);
      expect(raw.headers.get("cache-control")).toBe("no-store");
      expect((await table.gm.character(mara!.characterId)).sheet).toMatchObject({
        name: "Mara",
        gmNotes: "the lost heir",
      });
      await expect(mara!.client.character("no-such-character")).rejects.toMatchObject({
        code: "unknown_character",
      });
      // to someone outside the universe her sheet and run are as unknown as ids that do not exist
      const outsider = connect(server.url);
      await outsider.registerPlayer("Outsider");
      for (const [path, code] of [
        [`characters/${mara!.characterId}`, "unknown_character"],
        ["characters/no-such-character", "unknown_character"],
        [`runs/${mara!.runId}`, "unknown_run"],
        ["runs/no-such-run", "unknown_run"],
      ] as const) {
        const answer = await fetch(`${server.url}/api/${path}`, {
          headers: { authorization: `Bearer ${outsider.playerToken!}` },
        });
        const body = (await answer.json()) as { error: { code: string } };
        expect([answer.status, body.error.code], path).toEqual([404, code]);
      }
      await session.leave();
    });

    it("a game master of another universe cannot read a character through it; one of its branch can", async () => {
      const table = await setTable(server.url, ["Orla"]);
      const orla = table.players[0]!;
      const session = await orla.client.joinUniverse(table.universeId, { role: "player", runId: orla.runId });
      const acted = await session.act(overcome(orla.characterId));
      expect(acted.ok).toBe(true);
      await session.leave();
      const position = acted.ok ? acted.turn.position : 0;
      await waitFor(
        async () => (await table.gm.character(orla.characterId)).position >= position,
        5_000,
        "persisted",
      );
      // a stranger is the game master of a universe of their own, and names it
      const stranger = connect(server.url);
      await stranger.registerPlayer("Stranger");
      const theirs = await stranger.createUniverse({ name: "Elsewhere" });
      const refused = await fetch(`${server.url}/api/characters/${orla.characterId}?universe=${theirs.id}`, {
        headers: { authorization: `Bearer ${stranger.playerToken!}` },
      });
      expect(refused.status).toBe(404);
      const body = (await refused.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: { code: "unknown_character" } });
      expect(JSON.stringify(body)).not.toContain("notes");
      // the game master of a branch of the character's universe reads it there
      const branch = await table.gm.branch(table.universeId, position, "Aside");
      const there = await table.gm.character(orla.characterId, { universeId: branch.id });
      expect(there.sheet).toMatchObject({ name: "Orla", private: { notes: expect.any(String) as string } });
    });

    it("a player may not name the difficulty against another character; the game master may", async () => {
      const table = await setTable(server.url, ["Vex", "Wren"]);
      const [vex, wren] = table.players as [(typeof table.players)[number], (typeof table.players)[number]];
      const sessions = await Promise.all(
        [vex, wren].map((seat) =>
          seat.client.joinUniverse(table.universeId, { role: "player", runId: seat.runId }),
        ),
      );
      const attack = {
        kind: "action" as const,
        action: "attack" as const,
        characterId: vex.characterId,
        skill: "Fight",
        target: { type: "character" as const, id: wren.characterId },
        opposition: -4,
      };
      const refused = await sessions[0]!.act(attack);
      expect(refused).toMatchObject({ ok: false, rejection: { code: "not_allowed" } });
      // without a difficulty Wren defends with her own skill
      const { opposition: _, ...defended } = attack;
      const rolled = await sessions[0]!.act(defended);
      expect(rolled.ok && rolled.turn.resolution).toMatchObject({ oppositionKind: "active" });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const set = await gm.act(attack);
      expect(set.ok && set.turn.resolution).toMatchObject({ oppositionKind: "passive", opposition: -4 });
      for (const session of [...sessions, gm]) await session.leave();
    });

    it("a player may not name the difficulty of a roll against nothing or the scene, which is Fair; the game master may", async () => {
      const table = await setTable(server.url, ["Xan"]);
      const xan = table.players[0]!;
      const session = await xan.client.joinUniverse(table.universeId, { role: "player", runId: xan.runId });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const before = await table.gm.stateAt(table.universeId);
      for (const target of [undefined, { type: "scene" as const }]) {
        const advantage = {
          kind: "action" as const,
          action: "create_advantage" as const,
          characterId: xan.characterId,
          skill: "Notice",
          aspectName: "Chosen Footing",
          ...(target ? { target } : {}),
          opposition: -4,
        };
        const refused = await session.act(advantage);
        expect(refused).toMatchObject({
          ok: false,
          rejection: { code: "not_allowed", message: expect.stringContaining("only a game master") },
        });
      }
      // nothing was decided: the head is where it was
      expect((await table.gm.stateAt(table.universeId)).position).toBe(before.position);
      const rolled = await session.act({
        kind: "action",
        action: "overcome",
        characterId: xan.characterId,
        skill: "Athletics",
      });
      expect(rolled.ok && rolled.turn.resolution).toMatchObject({ oppositionKind: "passive", opposition: 2 });
      const set = await gm.act({
        kind: "action",
        action: "overcome",
        characterId: xan.characterId,
        skill: "Athletics",
        opposition: -4,
      });
      expect(set.ok && set.turn.resolution).toMatchObject({ oppositionKind: "passive", opposition: -4 });
      for (const member of [session, gm]) await member.leave();
    });

    it("the recap reaches a listener that subscribes after joining", async () => {
      const table = await setTable(server.url, ["Ysolde"]);
      const ysolde = table.players[0]!;
      const client = connect(server.url).useToken(ysolde.client.playerToken!);
      const session = await client.joinUniverse(table.universeId, { role: "player", runId: ysolde.runId });
      await waitFor(() => session.lastRecap !== null, 5_000, "the recap to arrive");
      const heard = await new Promise((resolve) => session.on("recap", resolve));
      expect(heard).toEqual(session.lastRecap);
      await session.leave();
    });
  });
}
