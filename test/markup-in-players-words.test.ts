import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * The Markdown story and the "Last time on…" recap are read in whatever renders Markdown (an
 * editor's preview, a wiki, a static site, an SDK client's page), and much of them is what players
 * and game masters wrote: a name, a high concept, an action's description, a scene's summary. None
 * of it may become markup the renderer obeys: an HTML tag that runs script, a link dressed as a
 * name, a tracking image, a forged footnote or heading.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`Markdown keeps players' words as words (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let story: string;
    let recap: string;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2609 });
      const gm = connect(server.url);
      const { token: gmToken } = await gm.registerPlayer("GM");
      const universe = await gm.createUniverse({
        name: "<b>Salt</b> & [Ash](https://evil.example)",
        premise: "A drowned coast &#60;script&#62;",
      });
      const mara = connect(server.url);
      await mara.registerPlayer("Mara");
      await mara.acceptInvite((await gm.createInvite(universe.id)).code);
      const name = "Mara [x](javascript:alert(1))";
      const { character, run } = await mara.createCharacter(
        universe.id,
        sheet(name, { highConcept: `${name}, disgraced <i>cartographer</i>` }),
      );
      const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
      await gmSession.act({ kind: "npc", op: "add", name: "Vell <img src=x onerror=alert(2)>" });
      await gmSession.leave();
      const session = await mara.joinUniverse(universe.id, { role: "player", runId: run.id });
      const acted = await session.act({
        kind: "action",
        action: "overcome",
        characterId: character.id,
        skill: "Athletics",
        description: 'the gate <img src=x onerror="alert(3)"> [^1] \\[not a link](https://evil.example)',
      });
      expect(acted.ok).toBe(true);
      await session.leave();

      // while Mara is away another player comes in, and the game master sets a scene
      const kell = connect(server.url);
      await kell.registerPlayer("Kell");
      await kell.acceptInvite((await gm.createInvite(universe.id)).code);
      const lure = "[Claim your reward](https://evil.example/phish) <img src=x onerror=alert(4)>";
      const kells = await kell.createCharacter(universe.id, sheet("Kell", { highConcept: lure }));
      await (await kell.joinUniverse(universe.id, { role: "player", runId: kells.run.id })).leave();
      const gmAgain = await gm.joinUniverse(universe.id, { role: "gm" });
      await gmAgain.act({
        kind: "scene",
        title: "The <b>quay</b>",
        summary: "## You won\n- Turn 99: ![x](https://evil.example/track.png)",
        aspects: ["*Fog* [here](https://evil.example)"],
      });
      await gmAgain.act({ kind: "world_event", text: `The bell rings. ${lure}` });
      await gmAgain.leave();
      recap = (await mara.recap(run.id)).text;
      const answer = await fetch(`${server.url}/api/universes/${universe.id}/export?format=markdown`, {
        headers: { authorization: `Bearer ${gmToken}` },
      });
      expect(answer.status).toBe(200);
      story = await answer.text();
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("writes no HTML tag, entity or link that came from a player", () => {
      expect(story).toContain("A drowned coast");
      expect(story).not.toMatch(/(?<!\\)<(img|b|i|script)\b/);
      expect(story).not.toMatch(/(?<!\\)\]\(/);
      expect(story).not.toContain("&#60;");
      // each escaped mark is still there for the reader, in the title as in the story
      expect(story.split("\n")[0]).toBe("# \\<b>Salt\\</b> & \\[Ash\\](https://evil.example)");
      expect(story).toContain('the gate \\<img src=x onerror="alert(3)"> \\[^1\\] \\\\\\[not a link\\](');
    });

    it("names each character once in the cast, its high concept after its name", () => {
      expect(story).toContain(
        "- **Mara \\[x\\](javascript:alert(1))** — *disgraced \\<i\\>cartographer\\</i\\>*",
      );
      expect(story).toContain("- Vell \\<img src=x onerror=alert(2)> (neutral)");
    });

    it("the recap of a player coming back writes no tag, link, image or heading that others wrote", () => {
      expect(recap).toMatch(/^## Last time on /);
      expect(recap).toContain("Kell, \\[Claim your reward\\](https://evil.example/phish) \\<img");
      expect(recap).toContain("The bell rings. \\[Claim your reward\\]");
      for (const written of [story, recap]) {
        expect(written).not.toMatch(/(?<!\\)<(img|b|i|script)\b/);
        expect(written).not.toMatch(/(?<!\\)\]\(/);
      }
      // the scene's summary is one paragraph, not a heading and a list item of its own
      expect(recap.split("\n").filter((line) => /^(## |- Turn 99)/.test(line))).toEqual([
        expect.stringMatching(/^## Last time on /),
      ]);
      expect(recap).toContain("*\\*Fog\\* \\[here\\](https://evil.example)*");
    });

    it("leaves no footnote but the rolls' own", () => {
      const references = story.match(/(?<!\\)\[\^\d+\](?!:)/g) ?? [];
      const notes = story.match(/^\[\^\d+\]:/gm) ?? [];
      expect(notes).toHaveLength(1);
      expect(references).toEqual(["[^1]"]);
    });
  });
}
