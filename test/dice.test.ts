import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyDice, type FateDie, type Turn } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";

/** Every key of a JSON document, at any depth. */
function keysOf(value: unknown, keys = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysOf(item, keys);
  else if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      keys.add(key);
      // A narration records the seed its prose was varied with: derived from the turn's public
      // identity (narrationSeed), not from the dice. The secret check below still reads it.
      if (key === "narration") continue;
      keysOf(inner, keys);
    }
  }
  return keys;
}

/** The fields of the answers this test reads (each answer has some of them). */
interface Answer {
  token: string;
  universe: { id: string };
  character: { id: string };
  run: { id: string };
}

const rolled = (turns: readonly Turn[]) =>
  turns.filter((turn) => turn.resolution).map((turn) => turn.position);

async function player(url: string, name: string): Promise<LoomClient> {
  const client = connect(url);
  await client.registerPlayer(name);
  return client;
}

/** The whole timeline as its GM reads it, once it reaches `head`. */
async function timeline(gm: LoomClient, universeId: string, head: number): Promise<Turn[]> {
  let turns: Turn[] = [];
  await waitFor(
    async () => {
      turns = (await gm.history(universeId, { limit: 500, order: "asc" })).turns;
      return turns.at(-1)?.position === head;
    },
    10_000,
    `timeline of ${universeId} through ${head}`,
  );
  return turns;
}

async function act(session: UniverseSession, command: Parameters<UniverseSession["act"]>[0]): Promise<Turn> {
  const result = await session.act(command);
  if (!result.ok) throw new Error(`refused: ${result.rejection.code} ${result.rejection.message}`);
  return result.turn;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`fair dice (${mode.name})`, () => {
    let server: LoomServer & { url: string };

    beforeAll(async () => {
      server = await startServer(mode);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("no response, over HTTP or in the room, carries a dice secret, a seed or a universe's settings", async () => {
      const seen: string[] = [];
      const api = async (method: string, path: string, token: string | null, body?: unknown) => {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        seen.push(text);
        return { status: response.status, json: JSON.parse(text) as Answer };
      };
      const gmId = await api("POST", "/api/players", null, { name: "GM" });
      const gmToken = gmId.json.token;
      const ada = await api("POST", "/api/players", null, { name: "Ada" });
      const adaToken = ada.json.token;
      const created = await api("POST", "/api/universes", gmToken, {
        name: "Leaky Marches",
        premise: "Secrets",
        seed: 5,
        visibility: "public",
      });
      expect(created.status).toBe(201);
      const id = created.json.universe.id;
      const made = await api("POST", `/api/universes/${id}/characters`, adaToken, sheet("Ada"));
      const characterId = made.json.character.id;
      const runId = made.json.run.id;

      const gm = connect(server.url).useToken(gmToken);
      const adaClient = connect(server.url).useToken(adaToken);
      const gmSession = await gm.joinUniverse(id, { role: "gm" });
      const adaSession = await adaClient.joinUniverse(id, { role: "player", runId });
      for (let i = 0; i < 5; i++) await act(adaSession, overcome(characterId));
      const hidden = await act(gmSession, { ...overcome(characterId, "a roll in the dark"), hidden: true });

      for (const token of [gmToken, adaToken]) {
        await api("GET", "/api/universes", token);
        await api("GET", `/api/universes/${id}`, token);
        await api("GET", `/api/universes/${id}/timeline?limit=500`, token);
        await api("GET", `/api/universes/${id}/turns/${hidden.position}`, token);
        await api("GET", `/api/universes/${id}/dice`, token);
        await api("GET", "/api/me", token);
        await api("GET", "/api/me/progression", token);
        await api("POST", `/api/universes/${id}/open`, token, {});
      }
      await api("GET", "/api/universes", null);
      await api("GET", `/api/universes/${id}`, null);
      await api("GET", `/api/universes/${id}/state`, gmToken);
      await api("GET", `/api/universes/${id}/diff?from=0`, gmToken);
      await api("GET", `/api/runs/${runId}`, adaToken);
      await api("GET", `/api/runs/${runId}/sessions`, adaToken);
      await api("GET", `/api/runs/${runId}/recap`, adaToken);
      await api("POST", `/api/runs/${runId}/pause`, adaToken, {});
      await api("POST", `/api/runs/${runId}/resume`, adaToken, {});
      await api("POST", `/api/universes/${id}/retcon`, gmToken, { note: "The marsh was always salt" });
      await api("POST", `/api/universes/${id}/snapshots`, gmToken, {});
      const branched = await api("POST", `/api/universes/${id}/branch`, gmToken, { position: 3 });
      expect(branched.status).toBe(201);
      const branchId = branched.json.universe.id;
      await api("GET", `/api/universes/${branchId}`, null);
      await api("GET", `/api/universes/${branchId}/dice`, adaToken);
      await api("GET", `/api/universes/${branchId}/timeline`, gmToken);
      await api("POST", `/api/universes/${branchId}/runs`, adaToken, { characterId });
      await api("POST", `/api/universes/${id}/reveal`, adaToken, {});
      await api("GET", "/healthz", null);
      await api("GET", "/metrics.json", null);

      const room = [
        JSON.stringify(gmSession.state),
        JSON.stringify(adaSession.state),
        JSON.stringify(gmSession.turns),
        JSON.stringify(adaSession.turns),
      ];
      expect(seen.length).toBeGreaterThan(30);
      for (const text of [...seen, ...room]) {
        const keys = keysOf(JSON.parse(text));
        expect(keys.has("seed"), text.slice(0, 200)).toBe(false);
        expect(keys.has("settings"), text.slice(0, 200)).toBe(false);
      }
      const secrets = [
        ...(await server.services.turnStore.diceChain(id)),
        ...(await server.services.turnStore.diceChain(branchId)),
      ].map((dice) => dice.secret);
      expect(new Set(secrets).size).toBe(2);
      for (const text of [...seen, ...room]) for (const secret of secrets) expect(text).not.toContain(secret);
      // the public record, exactly (of its settings, only the limits a new character's sheet is held to)
      expect(Object.keys(created.json.universe).sort()).toEqual(
        [
          "branchPosition",
          "characterLimits",
          "createdAt",
          "diceCommitment",
          "diceRevealedAt",
          "headPosition",
          "id",
          "name",
          "parentId",
          "status",
          "visibility",
        ].sort(),
      );
      await adaSession.leave();
      await gmSession.leave();
    });

    it("two universes created from the same public inputs and played the same way roll differently", async () => {
      const sequences: string[] = [];
      const commitments: string[] = [];
      for (let copy = 0; copy < 2; copy++) {
        const gm = await player(server.url, "Twin GM");
        // a seed in the request is no longer the client's to choose: it is ignored
        const response = await fetch(`${server.url}/api/universes`, {
          method: "POST",
          headers: { authorization: `Bearer ${gm.playerToken}`, "content-type": "application/json" },
          body: JSON.stringify({ name: "Twin", premise: "Identical", seed: 5, visibility: "public" }),
        });
        const { universe } = (await response.json()) as { universe: { id: string; diceCommitment: string } };
        commitments.push(universe.diceCommitment);
        const twin = await player(server.url, "Twin");
        const { character, run } = await twin.createCharacter(universe.id, sheet("Twin"));
        const session = await twin.joinUniverse(universe.id, { role: "player", runId: run.id });
        const dice: FateDie[][] = [];
        for (let i = 0; i < 12; i++) dice.push((await act(session, overcome(character.id))).resolution!.dice);
        sequences.push(JSON.stringify(dice));
        await session.leave();
      }
      // 12 rolls of 4dF agree by chance once in 81^12
      expect(sequences[0]).not.toBe(sequences[1]);
      expect(commitments[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(commitments[0]).not.toBe(commitments[1]);
    });

    it("a private universe's dice are its members' to read, as its timeline is", async () => {
      const gm = await player(server.url, "Warden");
      const closed = await gm.createUniverse({ name: "Locked Marches", premise: "Behind doors" });
      const open = await gm.createUniverse({
        name: "Open Marches",
        premise: "Out in the air",
        visibility: "public",
      });
      const stranger = await player(server.url, "Stranger");
      await expect(stranger.dice(closed.id)).rejects.toMatchObject({ code: "not_a_member", status: 403 });
      expect((await fetch(`${server.url}/api/universes/${closed.id}/dice`)).status).toBe(401);
      expect((await gm.dice(closed.id)).chain[0]).toMatchObject({ universeId: closed.id, secret: null });
      // a public universe's, like its timeline, need no token
      const anonymous = await fetch(`${server.url}/api/universes/${open.id}/dice`);
      expect(anonymous.status).toBe(200);
      expect((await stranger.dice(open.id)).chain[0]).toMatchObject({ commitment: open.diceCommitment });
    });

    it("after the GMs reveal, the shared verifier confirms every roll of a timeline and its branch", async () => {
      const gm = await player(server.url, "Keeper");
      const universe = await gm.createUniverse({
        name: "Honest Marches",
        premise: "Fair dice",
        visibility: "public",
      });
      const published = universe.diceCommitment;
      const ada = await player(server.url, "Ada");
      const { character, run } = await ada.createCharacter(universe.id, sheet("Ada"));
      const adaSession = await ada.joinUniverse(universe.id, { role: "player", runId: run.id });
      const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
      for (let i = 0; i < 6; i++) await act(adaSession, overcome(character.id));
      const branchAt = (await act(gmSession, { ...overcome(character.id, "unseen"), hidden: true })).position;
      for (let i = 0; i < 4; i++) await act(adaSession, overcome(character.id));
      const head = (await act(adaSession, overcome(character.id))).position;

      const branch = await gm.branch(universe.id, branchAt, "What if");
      expect(branch.diceCommitment).not.toBe(published);
      const branchGm = await gm.joinUniverse(branch.id, { role: "gm" });
      for (let i = 0; i < 4; i++) await act(branchGm, overcome(character.id, "another way"));
      const branchHead = (await act(branchGm, { ...overcome(character.id), hidden: true })).position;

      const parentTurns = await timeline(gm, universe.id, head);
      const branchTurns = await timeline(gm, branch.id, branchHead);
      expect(rolled(parentTurns).length).toBeGreaterThanOrEqual(12);

      // before a reveal: commitments only, and only a GM may reveal
      const sealed = await ada.dice(universe.id);
      expect(sealed.chain).toEqual([
        expect.objectContaining({ universeId: universe.id, commitment: published, secret: null }),
      ]);
      expect(verifyDice(sealed.chain, parentTurns)).toMatchObject({ ok: false, sealed: rolled(parentTurns) });
      await expect(ada.revealDice(universe.id)).rejects.toMatchObject({ code: "not_allowed", status: 403 });
      const anonymous = await fetch(`${server.url}/api/universes/${universe.id}/reveal`, { method: "POST" });
      expect(anonymous.status).toBe(401);
      await expect(gm.revealDice("no-such-universe")).rejects.toMatchObject({
        code: "unknown_universe",
        status: 404,
      });
      expect((await ada.dice(universe.id)).chain[0]!.secret).toBeNull();
      expect((await gm.getUniverse(universe.id)).diceRevealedAt).toBeNull();

      // the branch reveals its own secret; the rolls it shares with the parent stay sealed
      const branchOnly = await gm.revealDice(branch.id);
      expect(branchOnly.chain.map((d) => [d.universeId, d.from, d.secret === null])).toEqual([
        [branch.id, branchAt, false],
        [universe.id, 0, true],
      ]);
      const partial = verifyDice(branchOnly.chain, branchTurns);
      expect(partial.sealed).toEqual(rolled(branchTurns).filter((p) => p <= branchAt));
      expect(partial.verified).toEqual(rolled(branchTurns).filter((p) => p > branchAt));
      expect(partial.mismatches).toEqual([]);

      // once the parent reveals too, every roll of both timelines checks out against what was published
      const revealed = await gm.revealDice(universe.id);
      expect(revealed.chain[0]).toMatchObject({ commitment: published, legacyThrough: 0 });
      expect(revealed.chain[0]!.secret).toMatch(/^[0-9a-f]{64}$/);
      const fullChain = (await ada.dice(branch.id)).chain;
      expect(fullChain.map((d) => d.commitment)).toEqual([branch.diceCommitment, published]);
      expect(verifyDice(revealed.chain, parentTurns)).toMatchObject({
        ok: true,
        verified: rolled(parentTurns),
      });
      expect(verifyDice(fullChain, branchTurns)).toMatchObject({ ok: true, verified: rolled(branchTurns) });
      const target = parentTurns.find((turn) => turn.resolution && turn.position > 1)!;
      const tampered = parentTurns.map((turn) =>
        turn === target
          ? {
              ...turn,
              resolution: {
                ...turn.resolution!,
                dice: turn.resolution!.dice.map((die) => (die === 1 ? 0 : die + 1)) as FateDie[],
              },
            }
          : turn,
      );
      const caught = verifyDice(revealed.chain, tampered);
      expect(caught.ok).toBe(false);
      expect(caught.mismatches.map((m) => m.position)).toContain(target.position);

      // a revealed universe rolls no more (anyone could predict it); other turns go on, and a
      // reveal again changes nothing
      const refused = await adaSession.act(overcome(character.id));
      expect(refused).toMatchObject({ ok: false, rejection: { code: "dice_revealed" } });
      const event = await act(gmSession, {
        kind: "world_event",
        text: "The tide goes out",
        major: false,
        deltas: [],
      });
      expect(event.position).toBe(head + 1);
      expect((await gm.revealDice(universe.id)).chain[0]!.revealedAt).toBe(revealed.chain[0]!.revealedAt);
      expect((await gm.getUniverse(universe.id)).diceRevealedAt).toBe(revealed.chain[0]!.revealedAt);

      // a branch of it plays on with a secret of its own
      const sequel = await gm.branch(universe.id, head + 1, "Sequel");
      const sequelGm = await gm.joinUniverse(sequel.id, { role: "gm" });
      await act(sequelGm, overcome(character.id));
      expect((await gm.dice(sequel.id)).chain[0]).toMatchObject({ universeId: sequel.id, secret: null });

      for (const session of [adaSession, gmSession, branchGm, sequelGm]) await session.leave();
    }, 60_000);
  });
}
