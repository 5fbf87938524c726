import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientMessage } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, joinAll, overcome, setTable } from "./support/players.ts";
import { refusal } from "./support/refusals.ts";
import type { LoomServer } from "../server/src/app.ts";

/** An overcome that spends a fate point on the character's high concept. */
function invoking(characterId: string, aspect: string) {
  return {
    ...overcome(characterId, "leans on who she is"),
    invokes: [{ aspect, effect: "bonus" as const, payment: "fate_point" as const }],
  };
}

/** The character's fate points in the persisted state (the GM's view). */
async function fatePoints(table: Awaited<ReturnType<typeof setTable>>, characterId: string): Promise<number> {
  const { state } = await table.gm.stateAt(table.universeId);
  return state.characters[characterId]!.fatePoints;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`fair play (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2593, maxConnectionsPerPlayer: 3, sessionGapSeconds: 2 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a player holds at most so many connections, across universes and tabs", async () => {
      const first = await setTable(server.url, ["Many tabs"]);
      const second = await setTable(server.url, ["Other"]);
      const tabs = first.players[0]!;
      // the same player is invited to the second universe too
      await tabs.client.acceptInvite((await second.gm.createInvite(second.universeId)).code);
      const open: UniverseSession[] = [
        await tabs.client.joinUniverse(first.universeId, { role: "player", runId: tabs.runId }),
        await tabs.client.joinUniverse(first.universeId, { role: "spectator" }),
        await tabs.client.joinUniverse(second.universeId, { role: "spectator" }),
      ];
      await expect(tabs.client.joinUniverse(second.universeId, { role: "spectator" })).rejects.toMatchObject({
        code: "too_many_connections",
      });
      await expect(
        tabs.client.joinUniverse(first.universeId, { role: "player", runId: tabs.runId }),
      ).rejects.toMatchObject({ code: "too_many_connections" });
      // another player is not affected
      const other = await second.players[0]!.client.joinUniverse(second.universeId, { role: "spectator" });
      await open.pop()!.leave();
      open.push(await tabs.client.joinUniverse(second.universeId, { role: "spectator" }));
      for (const session of [...open, other]) await session.leave();
    });

    it("'undo my latest turn' sent right after an act undoes that act, acknowledged yet or not", async () => {
      const table = await setTable(server.url, ["Quick"]);
      const quick = table.players[0]!;
      const session = await quick.client.joinUniverse(table.universeId, {
        role: "player",
        runId: quick.runId,
      });
      await session.act(overcome(quick.characterId, "first steps"));
      // words, not rolls: a player's roll stands
      for (let i = 0; i < 4; i++) {
        const [acted, undone] = await Promise.all([
          session.act({ kind: "custom", characterId: quick.characterId, text: `steps ${i} back` }),
          session.undo(),
        ]);
        if (!acted.ok || !undone.ok) throw new Error(`refused: ${JSON.stringify([acted, undone])}`);
        expect(undone.turn.input, `round ${i}`).toMatchObject({
          kind: "undo",
          targetPosition: acted.turn.position,
        });
      }
      await session.leave();
    });

    it("a player's undo takes back only the last thing they did: not twice in a row, not an older turn, not a turn before their pause", async () => {
      const table = await setTable(server.url, ["Wren"]);
      const wren = table.players[0]!;
      const session = await wren.client.joinUniverse(table.universeId, { role: "player", runId: wren.runId });
      const says = async (text: string) => {
        const said = await session.act({ kind: "custom", characterId: wren.characterId, text });
        if (!said.ok) throw new Error(`refused: ${said.rejection.message}`);
        return said.turn.position;
      };
      const first = await says("hums a sea shanty");
      const second = await says("whistles along");
      const undone = await session.undo();
      expect(undone.ok && undone.turn.input).toMatchObject({ kind: "undo", targetPosition: second });
      // pressed again, it does not reach back to the turn before
      expect(await session.undo()).toMatchObject({ ok: false, rejection: { code: "nothing_to_undo" } });
      expect(await refusal(wren.client.undo(table.universeId, first))).toMatchObject({
        code: "not_allowed",
        status: 403,
      });
      // paused, the pause is the last thing she did: a turn before it stays
      const third = await says("sings the last verse");
      await wren.client.pauseRun(wren.runId);
      expect(await refusal(wren.client.undo(table.universeId, third))).toMatchObject({ code: "not_allowed" });
      const { turns } = await table.gm.history(table.universeId, { limit: 50 });
      expect(turns.filter((turn) => turn.kind === "undo")).toHaveLength(1);
      await session.leave().catch(() => undefined);
    });

    it("a roll stands: a player's undo of their own roll is refused and changes nothing; the game master's is taken; a player's words may still be undone", async () => {
      // given a player's roll that spent a fate point
      const table = await setTable(server.url, ["Rook"]);
      const rook = table.players[0]!;
      const session = await rook.client.joinUniverse(table.universeId, { role: "player", runId: rook.runId });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const rolled = await session.act(invoking(rook.characterId, "Rook, wandering cartographer"));
      if (!rolled.ok) throw new Error(`refused: ${rolled.rejection.message}`);
      const roll = rolled.turn.position;
      await waitFor(async () => (await fatePoints(table, rook.characterId)) === 2, 5_000, "the spend");

      // when the player undoes it, by the room's message (latest or by position) and over HTTP
      const stands = `turn ${roll} rolled the dice: a roll stands; ask your game master to undo it`;
      for (const answer of [await session.undo(), await session.undo(roll)])
        expect(answer).toMatchObject({ ok: false, rejection: { code: "not_allowed", message: stands } });
      for (const position of [undefined, roll])
        expect(await refusal(rook.client.undo(table.universeId, position))).toMatchObject({
          code: "not_allowed",
          status: 403,
          message: stands,
        });

      // then nothing changed: the head is the roll, the fate point stays spent
      await waitFor(() => gm.state.head === roll, 5_000, "the GM's view of the roll");
      expect(session.state.head).toBe(roll);
      expect((await table.gm.stateAt(table.universeId)).position).toBe(roll);
      expect(await fatePoints(table, rook.characterId)).toBe(2);

      // the game master may undo the same roll: the fate point comes back
      const undone = await gm.undo(roll);
      expect(undone.ok && undone.turn.input).toMatchObject({ kind: "undo", targetPosition: roll });
      await waitFor(async () => (await fatePoints(table, rook.characterId)) === 3, 5_000, "the refund");

      // a turn that rolled no dice the player may still undo, by the room's message and over HTTP
      for (const how of ["room", "http"] as const) {
        const said = await session.act({
          kind: "custom",
          characterId: rook.characterId,
          text: `hums (${how})`,
        });
        if (!said.ok) throw new Error(`refused: ${said.rejection.message}`);
        const undo =
          how === "room"
            ? await session.undo()
            : { ok: true, turn: await rook.client.undo(table.universeId, said.turn.position) };
        expect(undo.ok && undo.turn.input).toMatchObject({
          kind: "undo",
          targetPosition: said.turn.position,
        });
      }
      for (const member of [session, gm]) await member.leave();
    });

    it("a free invoke another player's character earned is theirs: a second player is refused it, a GM may spend it", async () => {
      const table = await setTable(server.url, ["Ada", "Bram"]);
      const [ada, bram] = [table.players[0]!, table.players[1]!];
      const [atAda, atBram] = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      // Ada's character creates the advantage: the game master sets an easy difficulty, Terrible
      // (−4), at which any roll at Average (+1) or better succeeds: twice, two free invokes at least.
      for (const attempt of ["rolls in the fog", "thickens it"]) {
        const made = await gm.act({
          ...overcome(ada.characterId, attempt),
          action: "create_advantage",
          opposition: -4,
          aspectName: "Fog Cover",
        });
        if (!made.ok) throw new Error(made.rejection.message);
      }
      const spend = (characterId: string) => ({
        ...overcome(characterId, "slips through"),
        invokes: [{ aspect: "Fog Cover", effect: "bonus" as const, payment: "free_invoke" as const }],
      });

      expect(await atBram!.act(spend(bram.characterId))).toMatchObject({
        ok: false,
        rejection: { code: "not_your_free_invoke" },
      });
      expect((await atAda!.act(spend(ada.characterId))).ok).toBe(true);
      expect((await gm.act(spend(bram.characterId))).ok).toBe(true);
      for (const session of [atAda!, atBram!, gm]) await session.leave();
    });

    it("fate points do not refill on a reconnect or a second tab, only at the next real play session", async () => {
      const table = await setTable(server.url, ["Mara"]);
      const mara = table.players[0]!;
      const aspect = "Mara, wandering cartographer";
      const first = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      const spent = await first.act(invoking(mara.characterId, aspect));
      expect(spent.ok).toBe(true);
      await waitFor(async () => (await fatePoints(table, mara.characterId)) === 2, 5_000, "the spend");

      // a second tab joins the session that is open
      const second = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      expect((await second.act(invoking(mara.characterId, aspect))).ok).toBe(true);
      await waitFor(async () => (await fatePoints(table, mara.characterId)) === 1, 5_000, "the second spend");
      // leaving and coming straight back continues the same play session
      await first.leave();
      await second.leave();
      const again = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      const acted = await again.act(overcome(mara.characterId));
      if (!acted.ok) throw new Error(acted.rejection.message);
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= acted.turn.position,
        5_000,
        "the rejoin to persist",
      );
      expect(await fatePoints(table, mara.characterId)).toBe(1);
      await again.leave();

      // after the gap, a new play session refreshes
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const later = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      await waitFor(async () => (await fatePoints(table, mara.characterId)) === 3, 5_000, "the refresh");
      await later.leave();
    });
  });

  describe(`fate points across a character's runs (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2593, sessionGapSeconds: 2 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    for (const watched of [false, true])
      it(`abandoning a run and starting another does not refill them before the gap (${watched ? "the room stays open" : "the room closes between"})`, async () => {
        const table = await setTable(server.url, ["Mara"]);
        const mara = table.players[0]!;
        // a game master watching keeps the room (and what it remembers of sessions) open
        const gm = watched ? await table.gm.joinUniverse(table.universeId, { role: "gm" }) : null;
        const first = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
        expect((await first.act(invoking(mara.characterId, "Mara, wandering cartographer"))).ok).toBe(true);
        await waitFor(async () => (await fatePoints(table, mara.characterId)) === 2, 5_000, "the spend");
        await first.leave();
        await mara.client.abandonRun(mara.runId);
        const run = await mara.client.startRun(table.universeId, mara.characterId);
        const next = await mara.client.joinUniverse(table.universeId, { role: "player", runId: run.id });
        const acted = await next.act(overcome(mara.characterId));
        if (!acted.ok) throw new Error(acted.rejection.message);
        await waitFor(
          async () => (await table.gm.stateAt(table.universeId)).position >= acted.turn.position,
          5_000,
          "the new run's turn to persist",
        );
        expect(await fatePoints(table, mara.characterId)).toBe(2);
        await next.leave();

        // after the gap, the new run's next session refreshes as any would
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        const later = await mara.client.joinUniverse(table.universeId, { role: "player", runId: run.id });
        await waitFor(async () => (await fatePoints(table, mara.characterId)) === 3, 5_000, "the refresh");
        await later.leave();
        await gm?.leave();
      });
  });

  describe(`one action rate per player (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2593, actionsPerSecond: 5 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("four sockets of one player share one bucket: no four times the rate", async () => {
      const table = await setTable(server.url, ["Swarm"]);
      const swarm = table.players[0]!;
      const sockets: UniverseSession[] = [];
      for (let i = 0; i < 4; i++)
        sockets.push(
          await swarm.client.joinUniverse(table.universeId, { role: "player", runId: swarm.runId }),
        );
      const results = await Promise.all(
        sockets.flatMap((socket) => Array.from({ length: 5 }, () => socket.act(overcome(swarm.characterId)))),
      );
      const accepted = results.filter((result) => result.ok).length;
      const limited = results.filter((result) => !result.ok && result.rejection.code === "rate_limited");
      // one bucket of 5 (plus what refills while the burst arrives), not four buckets of 5
      expect(accepted).toBeGreaterThanOrEqual(5);
      expect(accepted).toBeLessThanOrEqual(7);
      expect(limited.length).toBe(20 - accepted);
      for (const socket of sockets) await socket.leave();
    });

    it("counts malformed messages against the player's rate: a flood of them is refused rate_limited unread", async () => {
      const table = await setTable(server.url, ["Flood"]);
      const flood = table.players[0]!;
      const session = await flood.client.joinUniverse(table.universeId, {
        role: "player",
        runId: flood.runId,
      });
      const refused: Array<{ seq: number | null; code: string }> = [];
      session.on("rejected", (message) => refused.push(message));
      const room = session.room as unknown as { send: (type: string, message: unknown) => void };
      for (let i = 0; i < 20; i++)
        room.send(ClientMessage.Act, { seq: 1_000 + i, command: { kind: "teleport", to: "x".repeat(500) } });
      await waitFor(() => refused.length === 20, 5_000, "an answer to each");
      const codes = refused.map((message) => message.code);
      const invalid = codes.filter((code) => code === "invalid_message").length;
      // one bucket of 5, plus what refills while the flood arrives
      expect(invalid).toBeGreaterThanOrEqual(5);
      expect(invalid).toBeLessThanOrEqual(7);
      expect(codes.filter((code) => code === "rate_limited")).toHaveLength(20 - invalid);
      // the allowance comes back as it does after real actions
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await session.act(overcome(flood.characterId))).toMatchObject({ ok: true });
      await session.leave();
    });

    it("what a player sent while their connection was lost is all applied once it is back, at the rate, none refused", async () => {
      const table = await setTable(server.url, ["Patient"]);
      const patient = table.players[0]!;
      const session = await patient.client.joinUniverse(table.universeId, {
        role: "player",
        runId: patient.runId,
      });
      let release = () => {};
      const back = breakUntil(session, new Promise<void>((resolve) => (release = resolve)));
      // sent at the player's own pace while the seat is away: the SDK holds them
      const held: Array<Promise<Awaited<ReturnType<UniverseSession["act"]>>>> = [];
      for (let i = 0; i < 12; i++) {
        held.push(session.act(overcome(patient.characterId, `waits out the storm ${i}`)));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      release();
      await back;
      const results = await Promise.all(held);
      expect(results.map((result) => (result.ok ? "ok" : result.rejection.code))).toEqual(
        Array.from({ length: 12 }, () => "ok"),
      );
      const positions = results.map((result) => (result.ok ? result.turn.position : 0));
      expect(new Set(positions).size).toBe(12);
      await session.leave();
    });
  });
}
