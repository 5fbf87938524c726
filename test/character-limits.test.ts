import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/** A raw HTTP call: the status, the error code (if any) and the body, whatever the SDK would throw. */
async function call(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; code: string | null; message: string; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  const error = json.error as { code?: string; message?: string } | undefined;
  return { status: response.status, code: error?.code ?? null, message: error?.message ?? "", json };
}

async function player(url: string, name: string): Promise<{ client: LoomClient; id: string; token: string }> {
  const client = connect(url);
  const { player: me, token } = await client.registerPlayer(name);
  return { client, id: me.id, token };
}

/**
 * What a new character may start with: Fate Core's limits (skills up to Great +4, 20 skill
 * points, refresh 3) unless the universe's game master sets others. A player who may not name a
 * roll's difficulty could otherwise make every roll succeed with a Legendary (+8) skill.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a new character's limits (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let gm: Awaited<ReturnType<typeof player>>;
    let mara: Awaited<ReturnType<typeof player>>;
    let universeId: string;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2604 });
      gm = await player(server.url, "GM");
      mara = await player(server.url, "Mara");
      universeId = (await gm.client.createUniverse({ name: "The Ladder's Top" })).id;
      await mara.client.acceptInvite((await gm.client.createInvite(universeId)).code);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    const characters = `/api/universes/`;

    it("refuses a sheet over Fate Core's limits with a coded error that says what is over, and makes nothing", async () => {
      const universe = await mara.client.getUniverse(universeId);
      expect(universe.characterLimits).toEqual({ skillCap: 4, skillPoints: 20, refresh: 3, pyramid: false });
      const before = (await mara.client.me()).runs.length;
      for (const [overrides, saying] of [
        [{ skills: { Notice: 8 } }, /Notice at Legendary \+8 is over the skill cap, Great \+4/],
        [{ skills: { Notice: 5, Fight: 1 } }, /Notice at Superb \+5/],
        // a pyramid with one Great too many: 24 points
        [
          { skills: { A: 4, B: 4, C: 3, D: 3, E: 2, F: 2, G: 2, H: 1, I: 1, J: 1, K: 1 } },
          /the skills add up to 24 points, over the 20 a new character has/,
        ],
        [{ refresh: 4 }, /a refresh of 4 is over the 3 a new character starts with/],
      ] as const) {
        const answer = await call(server.url, "POST", `${characters}${universeId}/characters`, mara.token, {
          ...sheet("Mara"),
          ...overrides,
        });
        expect(answer, JSON.stringify(overrides)).toMatchObject({
          status: 422,
          code: "over_character_limits",
        });
        expect(answer.message).toMatch(saying);
      }
      expect((await mara.client.me()).runs.length).toBe(before);
      // the pyramid itself (one Great, two Good, three Fair, four Average) and a lower refresh fit
      const pyramid = { A: 4, B: 3, C: 3, D: 2, E: 2, F: 2, G: 1, H: 1, I: 1, J: 1 };
      const { character } = await mara.client.createCharacter(universeId, {
        ...sheet("Mara"),
        skills: pyramid,
        refresh: 2,
      });
      expect(character.sheet).toMatchObject({ skills: pyramid, refresh: 2 });
    });

    it("lets only a game master change them, part by part, and a branch keeps them", async () => {
      const refused = await call(server.url, "PATCH", `${characters}${universeId}`, mara.token, {
        characterLimits: { skillCap: 8 },
      });
      expect(refused).toMatchObject({ status: 403, code: "not_allowed" });
      for (const body of [
        {},
        { characterLimits: { skillCap: 9 } },
        { characterLimits: { refresh: 0 } },
        { characterLimits: { skillPoints: 2.5 } },
        { characterLimits: { pyramid: "yes" } },
        { characterLimits: "high" },
      ])
        expect(
          await call(server.url, "PATCH", `${characters}${universeId}`, gm.token, body),
          JSON.stringify(body),
        ).toMatchObject({ status: 400, code: "invalid_message" });
      expect((await gm.client.getUniverse(universeId)).characterLimits).toEqual({
        skillCap: 4,
        skillPoints: 20,
        refresh: 3,
        pyramid: false,
      });

      const raised = await gm.client.setCharacterLimits(universeId, { skillCap: 6, refresh: 5 });
      expect(raised.characterLimits).toEqual({ skillCap: 6, skillPoints: 20, refresh: 5, pyramid: false });
      // the other part of the change leaves the limits as they are
      expect((await gm.client.setVisibility(universeId, "private")).characterLimits).toEqual(
        raised.characterLimits,
      );
      expect((await mara.client.getUniverse(universeId)).characterLimits).toEqual(raised.characterLimits);
      const listed = (await mara.client.listUniverses()).find((u) => u.id === universeId);
      expect(listed?.characterLimits).toEqual(raised.characterLimits);

      const { character } = await mara.client.createCharacter(universeId, {
        ...sheet("Tamsin"),
        skills: { Notice: 6, Fight: 5 },
        refresh: 5,
      });
      expect(character.sheet).toMatchObject({ skills: { Notice: 6, Fight: 5 }, refresh: 5 });
      await expect(
        mara.client.createCharacter(universeId, { ...sheet("Wren"), skills: { Notice: 7 } }),
      ).rejects.toMatchObject({ status: 422, code: "over_character_limits" });

      // changes of different parts at the same time both stand
      const other = (await gm.client.createUniverse({ name: "Both Changes" })).id;
      for (let round = 0; round < 5; round++) {
        const [cap, refresh] = [3 + (round % 2), 1 + (round % 3)];
        await Promise.all([
          gm.client.setCharacterLimits(other, { skillCap: cap }),
          gm.client.setCharacterLimits(other, { refresh }),
          gm.client.setCharacterLimits(other, { skillPoints: 10 + round }),
          gm.client.setCharacterLimits(other, { pyramid: round % 2 === 0 }),
        ]);
        expect((await gm.client.getUniverse(other)).characterLimits).toEqual({
          skillCap: cap,
          skillPoints: 10 + round,
          refresh,
          pyramid: round % 2 === 0,
        });
      }

      const branch = await gm.client.branch(universeId, 0, "Raised ladder");
      expect(branch.characterLimits).toEqual(raised.characterLimits);
    });

    it("holds skills to the pyramid's shape once a game master requires it, and keeps that through other changes", async () => {
      const universe = (await gm.client.createUniverse({ name: "The Pyramid" })).id;
      await mara.client.acceptInvite((await gm.client.createInvite(universe)).code);
      const fiveGreats = { Notice: 4, Will: 4, Lore: 4, Craft: 4, Empathy: 4 };
      // advice until then: 20 points buy five Great skills
      const { character } = await mara.client.createCharacter(universe, {
        ...sheet("Scholar"),
        skills: fiveGreats,
      });
      expect(character.sheet).toMatchObject({ skills: fiveGreats });

      expect((await gm.client.setCharacterLimits(universe, { pyramid: true })).characterLimits).toEqual({
        skillCap: 4,
        skillPoints: 20,
        refresh: 3,
        pyramid: true,
      });
      // a change of another part leaves the requirement standing
      expect(
        (await gm.client.setCharacterLimits(universe, { skillPoints: 20 })).characterLimits.pyramid,
      ).toBe(true);
      const before = (await mara.client.me()).runs.length;
      const refused = await call(server.url, "POST", `${characters}${universe}/characters`, mara.token, {
        ...sheet("Second Scholar"),
        skills: fiveGreats,
      });
      expect(refused).toMatchObject({ status: 422, code: "over_character_limits" });
      expect(refused.message).toMatch(/5 skills at Great \(\+4\) but 0 at Good \(\+3\)/);
      expect((await mara.client.me()).runs.length).toBe(before);

      const pyramid = { A: 4, B: 3, C: 3, D: 2, E: 2, F: 2, G: 1, H: 1, I: 1, J: 1 };
      const made = await mara.client.createCharacter(universe, { ...sheet("Apprentice"), skills: pyramid });
      expect(made.character.sheet).toMatchObject({ skills: pyramid });
    });

    it("a character made under higher limits keeps its sheet and plays after the game master lowers them", async () => {
      const universe = (await gm.client.createUniverse({ name: "Lowered" })).id;
      await gm.client.setCharacterLimits(universe, { skillCap: 8 });
      await mara.client.acceptInvite((await gm.client.createInvite(universe)).code);
      const { character, run } = await mara.client.createCharacter(universe, {
        ...sheet("Old Hand"),
        skills: { Notice: 8 },
      });
      expect((await gm.client.setCharacterLimits(universe, { skillCap: 2 })).characterLimits.skillCap).toBe(
        2,
      );
      const session = await mara.client.joinUniverse(universe, { role: "player", runId: run.id });
      try {
        expect((await session.act({ ...overcome(character.id), skill: "Notice" })).ok).toBe(true);
        const { sheet: now } = await mara.client.character(character.id);
        expect(now?.skills).toEqual({ Notice: 8 });
      } finally {
        await session.leave();
      }
    });
  });
}
