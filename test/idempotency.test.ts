import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modes, startServer, tempDir, waitFor } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

async function post(
  url: string,
  path: string,
  token: string,
  body: unknown,
  key?: string,
): Promise<{ status: number; json: Record<string, unknown>; replayed: boolean }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
  };
  if (key !== undefined) headers["idempotency-key"] = key;
  const response = await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown>,
    replayed: response.headers.get("idempotent-replayed") === "true",
  };
}

function positionOf(answer: { json: Record<string, unknown> }): number {
  return (answer.json.turn as { position: number }).position;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`retried and racing writes (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2594 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a retried undo with the same Idempotency-Key undoes once; another request under that key is refused", async () => {
      const table = await setTable(server.url, ["Alex"]);
      const alex = table.players[0]!;
      const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
      const older = await session.act(overcome(alex.characterId, "first"));
      const newer = await session.act(overcome(alex.characterId, "second"));
      if (!older.ok || !newer.ok) throw new Error("acts refused");
      const gmToken = table.gm.playerToken!;
      const path = `/api/universes/${table.universeId}/undo`;

      const first = await post(server.url, path, gmToken, {}, "undo-1");
      const retry = await post(server.url, path, gmToken, {}, "undo-1");
      expect(first.status).toBe(200);
      expect(retry).toMatchObject({ status: 200, replayed: true, json: first.json });
      const undoTurn = first.json.turn as { position: number; input: { targetPosition: number } };
      expect(undoTurn.input.targetPosition).toBe(newer.turn.position);

      // HTTP reads show persisted turns: wait for the undo to get there
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= undoTurn.position,
        5_000,
        "the undo to persist",
      );
      const timeline = await table.gm.history(table.universeId, { order: "asc", limit: 500 });
      expect(timeline.turns.filter((turn) => turn.kind === "undo")).toHaveLength(1);
      expect(timeline.turns.find((turn) => turn.position === older.turn.position)!.status).toBe("applied");

      // the same request with its members in another order is the same request
      const made = { name: "Ordered", premise: "keys in any order", visibility: "private" };
      const universe = await post(server.url, "/api/universes", gmToken, made, "make-1");
      const reordered = { visibility: "private", premise: "keys in any order", name: "Ordered" };
      expect(await post(server.url, "/api/universes", gmToken, reordered, "make-1")).toMatchObject({
        status: 201,
        replayed: true,
        json: universe.json,
      });

      // a body past the bounds is refused as the route refuses it, before it is hashed (hashing a
      // chain thousands deep took seconds of the event loop) and before its key is taken: the key
      // is still free for the request meant
      let deep: unknown = { "0": 1 };
      for (let i = 0; i < 3_000; i++) deep = { a: deep };
      const refused = await post(
        server.url,
        "/api/universes",
        gmToken,
        { name: "Deep", extra: deep },
        "deep-1",
      );
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatchObject({ code: "invalid_message" });
      const meant = await post(server.url, "/api/universes", gmToken, { name: "Deep" }, "deep-1");
      expect(meant).toMatchObject({ status: 201, replayed: false });

      const other = await post(server.url, path, gmToken, { position: older.turn.position }, "undo-1");
      expect(other.status).toBe(422);
      expect(other.json.error).toMatchObject({ code: "idempotency_key_reused" });
      // keys are the player's own: another player's same key is a different key
      const mine = await post(server.url, path, alex.client.playerToken!, {}, "undo-1");
      expect(mine.replayed).toBe(false);
      await session.leave();
    });

    it("a retried undo and retcon whose kept answers were lost make their turns once", async () => {
      // given a player's two turns, and the game master's undo and retcon, each with a key
      const table = await setTable(server.url, ["Quinn"]);
      const quinn = table.players[0]!;
      const session = await quinn.client.joinUniverse(table.universeId, {
        role: "player",
        runId: quinn.runId,
      });
      const older = await session.act(overcome(quinn.characterId, "first"));
      const newer = await session.act(overcome(quinn.characterId, "second"));
      if (!older.ok || !newer.ok) throw new Error("acts refused");
      const gmToken = table.gm.playerToken!;
      const gmId = (await table.gm.me()).player!.id;
      const undoPath = `/api/universes/${table.universeId}/undo`;
      const retconPath = `/api/universes/${table.universeId}/retcon`;
      const body = {
        note: "a windfall",
        deltas: [{ op: "increment", path: `/characters/${quinn.characterId}/fatePoints`, value: 1 }],
      };
      const undone = await post(server.url, undoPath, gmToken, {}, "lost-undo");
      const retconned = await post(server.url, retconPath, gmToken, body, "lost-retcon");
      expect([undone.status, retconned.status]).toEqual([200, 200]);

      // when their answers are lost before they were kept (as when the process dies first, or the
      // first request outlives its claim) and the same requests come again
      await server.services.idempotency.releaseKey(gmId, "lost-undo");
      await server.services.idempotency.releaseKey(gmId, "lost-retcon");
      const undoAgain = await post(server.url, undoPath, gmToken, {}, "lost-undo");
      const retconAgain = await post(server.url, retconPath, gmToken, body, "lost-retcon");

      // then each answers with the turn the first made, and made no other
      expect([undoAgain.status, retconAgain.status]).toEqual([200, 200]);
      expect(undoAgain.replayed || retconAgain.replayed).toBe(false);
      const position = (answer: { json: Record<string, unknown> }) =>
        (answer.json.turn as { position: number }).position;
      expect(position(undoAgain)).toBe(position(undone));
      expect(position(retconAgain)).toBe(position(retconned));
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= position(retconned),
        5_000,
        "the turns to persist",
      );
      const timeline = await table.gm.history(table.universeId, { order: "asc", limit: 500 });
      expect(timeline.turns.filter((turn) => turn.kind === "undo")).toHaveLength(1);
      expect(timeline.turns.filter((turn) => turn.kind === "retcon")).toHaveLength(1);
      expect(timeline.turns.find((turn) => turn.position === older.turn.position)!.status).toBe("applied");
      expect(timeline.turns.at(-1)!.position).toBe(position(retconned));
      await session.leave();
    });

    it("a retried undo that reopened a run answers with its turn though the character has a newer run now", async () => {
      // given an abandoned run whose ending the player undid under a key, then abandoned again for a
      // newer run
      const table = await setTable(server.url, ["Rhea"]);
      const rhea = table.players[0]!;
      const session = await rhea.client.joinUniverse(table.universeId, { role: "player", runId: rhea.runId });
      if (!(await session.act(overcome(rhea.characterId, "a start"))).ok) throw new Error("act refused");
      await session.leave();
      const { turn: ending } = await rhea.client.abandonRun(rhea.runId);
      const path = `/api/universes/${table.universeId}/undo`;
      const token = rhea.client.playerToken!;
      const reopened = await post(server.url, path, token, { position: ending.position }, "reopen");
      expect(reopened.status).toBe(200);
      await waitFor(
        async () => (await rhea.client.run(rhea.runId)).state === "active",
        5_000,
        "the reopening",
      );
      await rhea.client.abandonRun(rhea.runId);
      const newer = await rhea.client.startRun(table.universeId, rhea.characterId);

      // when the undo comes again after its kept answer was lost
      await server.services.idempotency.releaseKey((await rhea.client.me()).player!.id, "reopen");
      const again = await post(server.url, path, token, { position: ending.position }, "reopen");

      // then it is answered with the turn it made, not refused for the newer run, and changes nothing
      expect(again.status).toBe(200);
      const position = (answer: { json: Record<string, unknown> }) =>
        (answer.json.turn as { position: number }).position;
      expect(position(again)).toBe(position(reopened));
      expect((await rhea.client.run(newer.id)).state).toBe("active");
    });

    it("a retried retcon applies its increments once", async () => {
      const table = await setTable(server.url, ["Mara"]);
      const mara = table.players[0]!;
      const session = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
      const before = await table.gm.retcon(table.universeId, "settling in");
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= before.position,
        5_000,
        "the state",
      );
      const start = (await table.gm.stateAt(table.universeId)).state.characters[mara.characterId]!.fatePoints;
      const body = {
        note: "the Guild pays its debts",
        deltas: [{ op: "increment", path: `/characters/${mara.characterId}/fatePoints`, value: 2 }],
      };
      const path = `/api/universes/${table.universeId}/retcon`;
      const answers = [];
      for (let i = 0; i < 3; i++)
        answers.push(await post(server.url, path, table.gm.playerToken!, body, "gift"));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      const position = (answers[0]!.json.turn as { position: number }).position;
      expect(answers.map((answer) => (answer.json.turn as { position: number }).position)).toEqual([
        position,
        position,
        position,
      ]);
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= position,
        5_000,
        "the retcon to persist",
      );
      const after = await table.gm.stateAt(table.universeId);
      expect(after.position).toBe(position);
      expect(after.state.characters[mara.characterId]!.fatePoints).toBe(start + 2);
      await session.leave();
    });

    it("ten concurrent completions of one run: exactly one succeeds and progression is credited once", async () => {
      const table = await setTable(server.url, ["Ada"]);
      const ada = table.players[0]!;
      const session = await ada.client.joinUniverse(table.universeId, { role: "player", runId: ada.runId });
      for (let i = 0; i < 3; i++) expect((await session.act(overcome(ada.characterId))).ok).toBe(true);
      const token = ada.client.playerToken!;
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          post(server.url, `/api/runs/${ada.runId}/complete`, token, { reason: "victory" }),
        ),
      );
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      const refused = answers.filter((answer) => answer.status !== 200);
      expect(refused.map((answer) => [answer.status, (answer.json.error as { code: string }).code])).toEqual(
        Array.from({ length: 9 }, () => [409, "run_not_active"]),
      );
      const ended = answers.find((answer) => answer.status === 200)!.json.turn as { position: number };
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= ended.position,
        5_000,
        "the ending to persist",
      );
      const timeline = await table.gm.history(table.universeId, { order: "asc", limit: 500 });
      const endings = timeline.turns.filter((turn) => turn.input.kind === "run_end");
      expect(endings).toHaveLength(1);
      const progression = await ada.client.progression();
      expect(progression.runsCompleted).toBe(1);
      expect(progression.completedRunIds).toEqual([ada.runId]);
      expect(progression.turnsInCompletedRuns).toBe(3);
      await session.leave();
    });

    it("completions of two runs of one player at once both credit the progression", async () => {
      const first = await setTable(server.url, ["Noor"]);
      const noor = first.players[0]!;
      const second = await noor.client.createCharacter(first.universeId, {
        name: "Ilse",
        highConcept: "Ilse, lamplighter",
        trouble: "Afraid of the dark",
        skills: { Athletics: 2 },
      });
      const runs = [noor.runId, second.run.id];
      const characters = [noor.characterId, second.character.id];
      for (const [i, runId] of runs.entries()) {
        const session = await noor.client.joinUniverse(first.universeId, { role: "player", runId });
        expect((await session.act(overcome(characters[i]!))).ok).toBe(true);
        await session.leave();
      }
      const token = noor.client.playerToken!;
      const answers = await Promise.all(
        runs.map((runId) => post(server.url, `/api/runs/${runId}/complete`, token, { reason: "retired" })),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      const progression = await noor.client.progression();
      expect(progression.runsCompleted).toBe(2);
      expect([...progression.completedRunIds].sort()).toEqual([...runs].sort());
    });
  });
}

/** Short, so a key expires within the test; a retry right after its request is still inside it. */
const TTL_SECONDS = 2;
const expiry = () => new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1_000 + 200));

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`Idempotency-Keys used again once expired (${mode.name})`, () => {
    const dataDir = tempDir();
    const start = () =>
      startServer(mode, { port: 2594, dataDir, inMemory: false, idempotencyTtlSeconds: TTL_SECONDS });
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("an undo and a retcon under expired keys, asking something else, are made as new turns", async () => {
      // given a player's two turns, and the game master's undo and retcon, each under a key
      const table = await setTable(server.url, ["Ines"]);
      const ines = table.players[0]!;
      const session = await ines.client.joinUniverse(table.universeId, { role: "player", runId: ines.runId });
      const older = await session.act(overcome(ines.characterId, "first"));
      const newer = await session.act(overcome(ines.characterId, "second"));
      if (!older.ok || !newer.ok) throw new Error("acts refused");
      const gmToken = table.gm.playerToken!;
      const undoPath = `/api/universes/${table.universeId}/undo`;
      const retconPath = `/api/universes/${table.universeId}/retcon`;
      const windfall = (note: string, value: number) => ({
        note,
        deltas: [{ op: "increment", path: `/characters/${ines.characterId}/fatePoints`, value }],
      });
      const firstUndo = await post(server.url, undoPath, gmToken, {}, "weekly-undo");
      const gift = windfall("a windfall", 1);
      const firstRetcon = await post(server.url, retconPath, gmToken, gift, "weekly-retcon");
      expect([firstUndo.status, firstRetcon.status]).toEqual([200, 200]);
      const retried = await post(server.url, retconPath, gmToken, gift, "weekly-retcon");
      expect(retried).toMatchObject({ status: 200, replayed: true, json: firstRetcon.json });

      // when the keys have expired and come again with other requests
      await expiry();
      const earlier = { position: older.turn.position };
      const secondUndo = await post(server.url, undoPath, gmToken, earlier, "weekly-undo");
      const another = windfall("another windfall", 2);
      const secondRetcon = await post(server.url, retconPath, gmToken, another, "weekly-retcon");

      // then each makes its own turn, after the first ones
      expect(secondUndo).toMatchObject({ status: 200, replayed: false });
      expect(secondRetcon).toMatchObject({ status: 200, replayed: false });
      expect(positionOf(secondUndo)).toBeGreaterThan(positionOf(firstRetcon));
      expect(positionOf(secondRetcon)).toBeGreaterThan(positionOf(secondUndo));
      await waitFor(
        async () => (await table.gm.stateAt(table.universeId)).position >= positionOf(secondRetcon),
        5_000,
        "the turns to persist",
      );
      const timeline = await table.gm.history(table.universeId, { order: "asc", limit: 500 });
      const undos = timeline.turns.filter((turn) => turn.kind === "undo");
      expect(undos.map((turn) => turn.input.targetPosition)).toEqual([
        newer.turn.position,
        older.turn.position,
      ]);
      const retcons = timeline.turns.filter((turn) => turn.kind === "retcon");
      expect(retcons.map((turn) => turn.input.note)).toEqual(["a windfall", "another windfall"]);
      await session.leave();
    });

    it("after a restart, a retry whose answer was lost gets its turn, and its key once expired makes another", async () => {
      // given a retcon under a key whose kept answer was lost, and a restart: the universe opens
      // again and knows the requests it took from its turns
      const table = await setTable(server.url, ["Oskar"]);
      const gmToken = table.gm.playerToken!;
      const path = `/api/universes/${table.universeId}/retcon`;
      const ferry = { note: "the ferry ran that night", deltas: [] };
      const first = await post(server.url, path, gmToken, ferry, "ferry");
      expect(first.status).toBe(200);
      await server.services.idempotency.releaseKey((await table.gm.me()).player!.id, "ferry");
      await server.shutdown();
      server = await start();

      // when the same request comes again
      const again = await post(server.url, path, gmToken, ferry, "ferry");

      // then it is answered with the turn it made
      expect(again).toMatchObject({ status: 200, replayed: false });
      expect(positionOf(again)).toBe(positionOf(first));

      // and once its key has expired, another request under it makes its own turn
      await expiry();
      const toll = { note: "the ferry took a toll", deltas: [] };
      const other = await post(server.url, path, gmToken, toll, "ferry");
      expect(other).toMatchObject({ status: 200, replayed: false });
      expect(positionOf(other)).toBeGreaterThan(positionOf(first));
    });
  });
}
