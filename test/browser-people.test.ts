import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchChromium, readyForBrowser } from "./browser/chromium.ts";
import { openaiNarrator } from "./support/narrator.ts";
import { modes, startServer, tempDir, testPort } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { startChatServer, type ChatServer } from "../server/src/narrator/testing/chat-server.ts";
import { connect } from "../client-sdk/src/index.ts";
import { form, newPage, register } from "./browser/scenario.ts";
import {
  acknowledged,
  actFreely,
  gameMaster,
  invited,
  isLive,
  liveStatus,
  newCharacter,
  openScene,
  shownTurns,
  sidewaysOverflow,
  tokenOf,
  toldProse,
  turnAt,
  type Person,
} from "./browser/people.ts";

const PORT = 2655;
/** The OpenAI-compatible endpoint that streams the prose of the narration tests. */
const MODEL_PORT = 2656;
const UNIVERSE = "The Drowned Coast";

/** How long the SDK keeps rejoining before it gives a session up (ClientOptions.failoverMs). */
const SDK_FAILOVER_MS = 60_000;

/**
 * The web client played the way people play it, in a real browser against the real server: a game
 * master, two players and a spectator, each in their own browser. A player acts and closes the tab,
 * comes back later to "Last time on…"; the server restarts under open pages; refusals, the
 * keyboard and a phone's width. What is checked is what a person would see.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`people play Loom in a browser (${mode.name})`, () => {
    const dataDir = tempDir("loom-browser-people-");
    let server: LoomServer & { url: string };
    let browser: Browser;
    let gm: Person & { universeId: string; invite: string };
    let alex: Person;
    let bo: Person;
    let sam: Person;
    /** Alex's page after coming back (its clock can be moved on: see the long outage). */
    let back: Page;

    // A reload drops the page's connection and seats the new page: the test servers' one-second
    // reconnection window (production's is 30) lapsed first on a busy machine, and the reload
    // ended the session and began another, two turns more in the story than the page had before.
    const start = (): Promise<LoomServer & { url: string }> =>
      startServer(mode, { port: PORT, dataDir, inMemory: false, reconnectSeconds: 5 });

    beforeAll(async () => {
      await readyForBrowser();
      server = await start();
      browser = await launchChromium();
      gm = await gameMaster(browser, server.url, "Morgan GM", UNIVERSE);
      alex = await invited(browser, gm.invite, "Alex", UNIVERSE);
      bo = await invited(browser, gm.invite, "Bo", UNIVERSE, 375); // a phone
      sam = await invited(browser, gm.invite, "Sam", UNIVERSE);
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await server?.shutdown();
    });

    it("a player acts and closes the tab; back later, 'Last time on…' tells what others did meanwhile", async () => {
      const { page } = alex;
      await newCharacter(page, UNIVERSE, "Mara");
      const playPath = new URL(page.url()).pathname;
      await actFreely(page, "Mara climbs the lighthouse stairs.");
      await page.close();

      // the table sees her leave once the reconnection window has passed
      await gm.page
        .locator("ol.timeline > li.turn[data-kind=session_end]")
        .filter({ hasText: "Mara" })
        .waitFor();
      // meanwhile Tamsin joins the story and the game master moves the scene on
      await newCharacter(bo.page, UNIVERSE, "Tamsin");
      await actFreely(bo.page, "Tamsin slips the lantern under her coat.");
      await openScene(gm.page, "The Lantern Market", "Saltmouth");

      // Alex comes back, from the start page like anyone would
      back = await alex.context.newPage();
      await back.clock.install();
      await back.clock.resume();
      await back.goto(server.url);
      await back.getByRole("link", { name: "Play Mara (active)" }).click();
      expect(new URL(back.url()).pathname).toBe(playPath);
      await isLive(back);
      const recap = back.locator("details.recap");
      await recap.getByRole("heading", { name: "While you were away" }).waitFor();
      const told = (await recap.textContent()) ?? "";
      expect(told).toContain("Mara climbs the lighthouse stairs.");
      expect(told).toMatch(/Tamsin[^\n]*enters the story/);
      expect(told).toContain("The Lantern Market");
    }, 120_000);

    it("every turn's prose is on screen, and a reload shows the same prose", async () => {
      const position = await actFreely(back, "Mara counts the lanterns on the quay.");
      await turnAt(back, position).locator("p.narration.done").waitFor();
      // every turn but an undo is told (the template narrator tells as the turn is made)
      await expect
        .poll(async () => {
          const prose = await toldProse(back);
          const turns = await shownTurns(back);
          return turns.filter((turn) => !turn.includes(" undo") && !(turn.split(" ")[0]!.slice(1) in prose));
        })
        .toEqual([]);
      const before = await toldProse(back);
      expect(before[String(position)]).toContain("lanterns on the quay");
      await back.reload();
      await isLive(back);
      await turnAt(back, position).locator("p.narration.done").waitFor();
      await expect.poll(() => toldProse(back)).toEqual(before);
    }, 60_000);

    it("a page reloaded again and again goes live each time, holding one seat, and the play session goes on", async () => {
      // more reloads, quicker, than a player may hold connections (8) while the server keeps the
      // seat of each page a reload dropped (5 s here): each reloaded page takes its tab's kept seat
      for (const page of [back, gm.page]) {
        const story = await shownTurns(page);
        const named = joinSessions(page);
        for (let reload = 1; reload <= 12; reload++) {
          await page.reload();
          const live = liveStatus(page).filter({ hasText: "● live" });
          await live.waitFor({ timeout: 5_000 }).catch(async () => {
            const said = await page.locator(".live-trouble").allTextContents();
            throw new Error(`reload ${reload} of ${page.url()} was not live within 5 s: ${said.join(" ")}`);
          });
          expect(await page.getByText("too_many_connections").count()).toBe(0);
        }
        // no play session ended and begun again: the same story, nothing added
        await expect.poll(() => shownTurns(page)).toEqual(story);
        // every join of the tab named one session; a tab opened from it (a copy of its storage,
        // as a duplicated tab has) names its own, and the first tab keeps its id
        expect(named.length).toBe(12);
        expect(new Set(named).size).toBe(1);
        const [opened] = await Promise.all([
          page.context().waitForEvent("page"),
          page.evaluate(() => void window.open(location.href)),
        ]);
        const openedNamed = joinSessions(opened);
        await isLive(opened);
        await opened.close();
        await page.reload();
        await isLive(page);
        expect(openedNamed).toHaveLength(1);
        expect(openedNamed[0]).not.toBe(named[0]);
        expect(named.at(-1)).toBe(named[0]);
      }
    }, 120_000);

    it("a spectator and the game master see the player's turns in the same order", async () => {
      await sam.page.goto(`${server.url}/u/${gm.universeId}/watch`);
      await isLive(sam.page);
      const first = await actFreely(back, "Mara hails the harbour master.");
      const second = await actFreely(bo.page, "Tamsin laughs from the rigging.");
      const third = await actFreely(back, "Mara answers with a rude gesture.");
      expect(first < second && second < third).toBe(true);
      for (const page of [gm.page, sam.page, bo.page, back]) await turnAt(page, third).waitFor();
      const seen = await shownTurns(back);
      for (const page of [gm.page, sam.page, bo.page])
        await expect.poll(() => shownTurns(page)).toEqual(seen);
    }, 60_000);

    it("the pages follow the server through a restart: they rejoin by themselves and acting works", async () => {
      await server.shutdown();
      for (const page of [back, bo.page, gm.page, sam.page])
        await liveStatus(page).filter({ hasText: "reconnecting" }).waitFor();
      server = await start();
      for (const page of [back, bo.page, gm.page, sam.page]) await isLive(page);
      const position = await actFreely(back, "Mara relights the harbour lamp.");
      for (const page of [gm.page, sam.page, bo.page, back]) await turnAt(page, position).waitFor();
      const seen = await shownTurns(back);
      for (const page of [gm.page, sam.page, bo.page])
        await expect.poll(() => shownTurns(page)).toEqual(seen);
    }, 120_000);

    it("after an outage longer than rejoining lasts, the page says so and rejoins once the server is back", async () => {
      const alert = back.getByRole("alert").filter({ hasText: /lost the connection/i });
      await server.shutdown();
      try {
        await liveStatus(back).filter({ hasText: "reconnecting" }).waitFor();
        // the page's clock moves past the SDK's failover: it gives the seat up
        await back.clock.fastForward(SDK_FAILOVER_MS + 1_000);
        await alert.waitFor();
        expect(await alert.textContent()).toMatch(/trying again/i);
        await back.getByRole("button", { name: "Rejoin now" }).waitFor();
      } finally {
        server = await start();
      }
      // without a reload, and without a click
      await isLive(back);
      await alert.waitFor({ state: "detached" });
      const position = await actFreely(back, "Mara shakes the rain from her coat.");
      await turnAt(gm.page, position).waitFor();
    }, 120_000);

    it("refusals are said where the player looks: nothing to undo, too long a text, a run paused elsewhere", async () => {
      // a newcomer presses undo before doing anything, the latest turn being someone else's: refused,
      // said under the button, and nobody's turn undone
      await sam.page.goto(server.url);
      await newCharacter(sam.page, UNIVERSE, "Wren");
      const tamsins = await actFreely(bo.page, "Tamsin coils a rope on the quay.");
      await turnAt(sam.page, tamsins).waitFor();
      const undo = sam.page.locator(".player-undo button");
      // nothing of hers to undo: the button is off and says why, instead of a refusal after a press
      await expect.poll(() => undo.textContent()).toBe("Undo my turn");
      expect(await undo.isDisabled()).toBe(true);
      await sam.page.locator(".player-undo .undo-why").filter({ hasText: "Nothing" }).waitFor();
      expect(await turnAt(sam.page, tamsins).getAttribute("class")).not.toContain("undone");
      // once she has acted, the button names her turn; undone, everyone sees it, and the page says so
      const wrens = await actFreely(sam.page, "Wren sketches the harbour.");
      await expect.poll(() => undo.textContent()).toBe(`Undo my turn #${wrens}`);
      await undo.click();
      await sam.page
        .locator(".player-undo [role=status]")
        .filter({ hasText: `Turn #${wrens} undone.` })
        .waitFor();
      for (const page of [sam.page, gm.page, back, bo.page])
        await page.locator(`ol.timeline > li.turn.undone[data-position="${wrens}"]`).waitFor();
      // the act form's line no longer speaks of the turn as made, and nothing is left to undo
      expect(
        await form(sam.page, "Take an action")
          .getByRole("status")
          .filter({ hasText: `Turn #${wrens}:` })
          .count(),
      ).toBe(0);
      expect(await undo.isDisabled()).toBe(true);
      expect(await sam.page.getByRole("alert").filter({ hasText: "nothing_to_undo" }).count()).toBe(0);
      // a roll stands: once she has rolled, the page says whom to ask in place of the button
      const roll = form(sam.page, "Take an action");
      await roll.getByRole("radio", { name: "Overcome" }).check();
      await roll.getByLabel("Skill", { exact: true }).fill("Athletics");
      // the game master sets difficulties: a player's form offers none to fill
      expect(await roll.getByLabel("Opposition", { exact: true }).count()).toBe(0);
      await roll.getByLabel("Description", { exact: true }).fill("vaults the bollard");
      await roll.getByRole("button", { name: "Roll" }).click();
      const rolled = Number(/^Turn #(\d+)/.exec(await acknowledged(sam.page, "vaults the bollard"))?.[1]);
      await sam.page
        .getByText(`Your latest turn (#${rolled}) rolled the dice: a roll stands. Ask your game master`)
        .waitFor();
      expect(await undo.isDisabled()).toBe(true);

      const act = form(back, "Take an action");
      // a text past the limit is kept whole, and refused with the limit named, before it is sent
      const head = (await shownTurns(back)).length;
      await act.getByRole("radio", { name: "Free text" }).check();
      const text = act.getByLabel("What do you do?", { exact: true });
      await text.focus();
      await back.keyboard.insertText(
        `Mara tells the whole tale: ${"and then the tide turned again, ".repeat(70)}`,
      );
      expect((await text.inputValue()).length).toBeGreaterThan(2_000);
      await act.getByRole("button", { name: "Do it" }).click();
      await act
        .getByRole("alert")
        .filter({ hasText: /2,?000/ })
        .waitFor();
      expect((await shownTurns(back)).length).toBe(head);
      await text.fill("Mara tells the short version.");
      await acknowledgedAfterClick(back);

      // another tab of hers pauses the run: this one says so, and offers to resume
      const other = await alex.context.newPage();
      await other.goto(back.url());
      await isLive(other);
      await other.getByRole("button", { name: "Pause run" }).click();
      await back.locator(".run-state").filter({ hasText: "paused" }).waitFor();
      await back.getByText("This run is paused.").waitFor();
      await other.close();
      await back.getByRole("button", { name: "Resume run" }).click();
      await back.locator(".run-state").filter({ hasText: "active" }).waitFor();
      await isLive(back);
      await actFreely(back, "Mara picks up where she left off.");
    }, 90_000);

    it("the act form works from the keyboard alone, and the play page fits a 375 px phone", async () => {
      const page = bo.page;
      await page.reload();
      await isLive(page);
      // from the top of the page, by Tab, to the kind of action (the first, checked at first)
      const kinds = form(page, "Take an action").getByRole("radio");
      for (let presses = 0; presses < 40; presses++) {
        await page.keyboard.press("Tab");
        if (await kinds.first().evaluate((radio) => radio === document.activeElement)) break;
      }
      await page.keyboard.press("ArrowUp"); // radios wrap: from the first to the last, free text
      expect(await form(page, "Take an action").getByRole("radio", { name: "Free text" }).isChecked()).toBe(
        true,
      );
      await page.keyboard.press("Tab");
      await page.keyboard.type("Tamsin whistles for the boat.");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      await acknowledged(page, "Tamsin whistles for the boat.");
      // the next turn is typed straight away: the form kept the keyboard
      await page.keyboard.type(
        "Tamsin reads https://maps.example.org/" + "saltroadsofthedrownedcoast".repeat(10),
      );
      const text = form(page, "Take an action").getByLabel("What do you do?", { exact: true });
      expect(await text.inputValue()).toMatch(/^Tamsin reads https/);
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      await acknowledged(page, "Tamsin reads https://maps.example.org/");

      // a long link in a turn, the recap, the story: nothing wider than the phone
      await page.getByRole("link", { name: "← Universes" }).click();
      await page.getByRole("link", { name: "Play Tamsin (active)" }).click();
      await isLive(page);
      expect(await sidewaysOverflow(page)).toBe(0);
    }, 60_000);

    it("the run's record follows the table past the turns a page keeps", async () => {
      // a long evening: the game master's world goes on for many more turns than a page holds (500)
      const TIDES = 700;
      const runId = new URL(back.url()).pathname.split("/").pop()!;
      const gmClient = connect(server.url).useToken(await tokenOf(gm.page), null);
      const world = await gmClient.joinUniverse(gm.universeId, { role: "gm" });
      try {
        for (let i = 0; i < TIDES; i++) {
          const made = await world.act({
            kind: "world_event",
            text: `The tide comes in (${i}).`,
            major: false,
          });
          expect(made.ok).toBe(true);
        }
      } finally {
        await world.leave();
      }
      await back
        .locator("ol.timeline > li.turn")
        .filter({ hasText: `The tide comes in (${TIDES - 1}).` })
        .waitFor();
      const alexClient = connect(server.url).useToken(await tokenOf(back), null);
      const before = (await alexClient.run(runId)).turnCount;
      await actFreely(back, "Mara wakes to the tide.");
      await expect.poll(async () => (await alexClient.run(runId)).turnCount).toBe(before + 1);
      // her panel shows the count the server has, her newest turn included
      await back
        .locator("#run")
        .filter({ hasText: `· ${before + 1} turns ·` })
        .waitFor();
    }, 120_000);

    it("a player's form offers a free invoke only on an aspect her own character created or the game master placed", async () => {
      const gmClient = connect(server.url).useToken(await tokenOf(gm.page), null);
      const world = await gmClient.joinUniverse(gm.universeId, { role: "gm" });
      const idOf = (name: string) =>
        [...world.state.characters.values()].find((character) => character.name === name)?.id ?? "";
      await expect.poll(() => [idOf("Mara"), idOf("Tamsin")].every(Boolean)).toBe(true);
      const aspects = new Map<string, string>();
      try {
        // each character creates an advantage: the game master rolls it, at a difficulty that
        // leaves the aspect (and its free invokes) on the scene in a try or two
        for (const [name, aspectName] of [
          ["Mara", "Mara's Chalk Marks"],
          ["Tamsin", "Tamsin's Smoke"],
        ] as const) {
          for (let tries = 0; !aspects.has(aspectName); tries++) {
            expect(tries).toBeLessThan(8);
            const made = await world.act({
              kind: "action",
              action: "create_advantage",
              characterId: idOf(name),
              skill: "Notice",
              target: { type: "scene" },
              opposition: -4,
              aspectName,
              description: `${name} prepares`,
            });
            if (!made.ok) throw new Error(made.rejection.message);
            const created = made.turn.events.find((event) => event.type === "aspect_created");
            if (created) aspects.set(aspectName, String(created.data.aspectId));
          }
        }
        const placed = await world.act({ kind: "aspect", op: "add", name: "Harbour Fog", freeInvokes: 1 });
        if (!placed.ok) throw new Error(placed.rejection.message);
        // the room's state catches up with the answer (the scene may already hold three aspects:
        // a tie leaves a boost)
        const fog = () =>
          [...world.state.scene.aspects.values()].find((aspect) => aspect.name === "Harbour Fog");
        await expect.poll(() => fog()?.id).toBeTruthy();
        aspects.set("Harbour Fog", fog()!.id);
      } finally {
        await world.leave();
      }

      const act = form(back, "Take an action");
      await act.getByRole("radio", { name: "Overcome" }).check();
      await act.getByRole("button", { name: "Invoke an aspect" }).click();
      const aspect = act.getByLabel("Invoke 1 aspect", { exact: true });
      const payment = act.getByLabel("Invoke 1 payment", { exact: true });
      const offered = async (value: string) => {
        await aspect.locator(`option[value="${value}"]`).waitFor({ state: "attached" });
        await aspect.selectOption({ value });
        return payment.locator("option").allTextContents();
      };
      expect(await offered(aspects.get("Tamsin's Smoke")!)).toEqual(["a fate point"]);
      expect(await aspect.locator("option:checked").textContent()).toMatch(/free for Tamsin/);
      expect(await offered(aspects.get("Mara's Chalk Marks")!)).toEqual(["a fate point", "a free invoke"]);
      expect(await offered(aspects.get("Harbour Fog")!)).toEqual(["a fate point", "a free invoke"]);
      // her own character's aspects have no free invokes to spend
      const labels = await aspect.locator("option").allTextContents();
      const own = labels.findIndex((label) => !label.includes("(scene"));
      expect(own).toBeGreaterThanOrEqual(0);
      await aspect.selectOption({ index: own });
      expect(await payment.locator("option").allTextContents()).toEqual(["a fate point"]);

      // the one offered is one the server takes
      await offered(aspects.get("Mara's Chalk Marks")!);
      await payment.selectOption({ label: "a free invoke" });
      await act.getByLabel("Skill", { exact: true }).fill("Athletics");
      await act.getByLabel("Description", { exact: true }).fill("the chalked alley");
      await act.getByRole("button", { name: "Roll" }).click();
      expect(await acknowledged(back, "the chalked alley")).toMatch(/invokes "Mara's Chalk Marks"/);
    }, 120_000);
  });
}

/** The client session each join of a page's room names, in order, as the page sends them. */
function joinSessions(page: Page): string[] {
  const named: string[] = [];
  page.on("request", (request) => {
    if (!new URL(request.url()).pathname.startsWith("/matchmake/joinById/")) return;
    named.push(String((request.postDataJSON() as { session?: unknown } | null)?.session));
  });
  return named;
}

/** Clicks the act form's button and waits for its acknowledgement of the text now in the form. */
async function acknowledgedAfterClick(page: Page): Promise<void> {
  const act = form(page, "Take an action");
  const text = await act.getByLabel("What do you do?", { exact: true }).inputValue();
  await act.getByRole("button", { name: "Do it" }).click();
  await acknowledged(page, text);
}

/**
 * Prose as a model streams it: a player sees it grow in the story, reloads in the middle of it, and
 * ends up reading what the server recorded; a stream that breaks off gives way to the recorded
 * fallback. Narration does not depend on the storage mode: embedded only.
 */
describe("streamed narration in a browser (embedded)", () => {
  let server: LoomServer & { url: string };
  let endpoint: ChatServer;
  let browser: Browser;
  let page: Page;
  let universeId: string;
  /** Cues the model waits for before some of the lighthouse's pieces (index → release). */
  const cues = new Map<number, () => void>();
  const cue = (index: number) => new Promise<void>((resolve) => cues.set(index, resolve));
  let waits = new Map<number, Promise<void>>();

  /** The prose of a turn as the server recorded it, read over the API with the player's login. */
  const recorded = async (position: number): Promise<string | undefined> =>
    (
      await connect(server.url)
        .useToken(await tokenOf(page))
        .turn(universeId, position)
    ).narration?.text;

  beforeAll(async () => {
    await readyForBrowser();
    endpoint = await startChatServer((_, request) => {
      const user = request.body.messages.find((m) => m.role === "user")?.content ?? "";
      const deed = user.split("## The turn to narrate")[1] ?? "";
      if (deed.includes("lighthouse"))
        return {
          chunks: ["The lamp ", "flares ", "over the bay", " at dusk."],
          beforeChunk: (i) => waits.get(i),
        };
      if (deed.includes("breaks the glass"))
        return { chunks: ["Half a ", "tale ", "never told"], breakAfter: 2 };
      return { chunks: ["The tide turns."] };
    }, testPort(MODEL_PORT));
    server = await startServer(modes()[0]!, {
      port: PORT,
      narrator: openaiNarrator(endpoint.url, { timeoutMs: 10_000 }),
    });
    browser = await launchChromium();
    const gm = await gameMaster(browser, server.url, "Ines", "The Lamp Coast");
    page = gm.page;
    universeId = gm.universeId;
    await page.getByRole("link", { name: "← Universes" }).click();
    await newCharacter(page, "The Lamp Coast", "Mara");
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.shutdown();
    await endpoint?.close();
  });

  it("prose streams into the story and ends as recorded, even for a page reloaded halfway through it", async () => {
    waits = new Map([
      [1, cue(1)],
      [3, cue(3)],
    ]);
    const position = await actFreely(page, "Mara climbs the lighthouse.");
    const prose = turnAt(page, position).locator("p.narration");
    await prose.filter({ hasText: "The lamp" }).and(page.locator(".streaming")).waitFor();
    // the player reloads while the model is still telling it: what follows arrives without its start
    await page.reload();
    await isLive(page);
    cues.get(1)!();
    await prose.filter({ hasText: "over the bay" }).and(page.locator(".streaming")).waitFor();
    // what is shown is the telling's start, or says that its start was missed
    expect(await prose.textContent()).toMatch(/^(…|The lamp)/);
    cues.get(3)!();
    await prose.and(page.locator(".done")).waitFor();
    expect(await prose.textContent()).toBe("The lamp flares over the bay at dusk.");
    expect(await recorded(position)).toBe("The lamp flares over the bay at dusk.");
  }, 60_000);

  it("a stream that breaks off gives way to the recorded fallback, the same after a reload", async () => {
    const position = await actFreely(page, "Mara breaks the glass.");
    const prose = turnAt(page, position).locator("p.narration.done");
    await prose.waitFor();
    let record: string | undefined;
    await expect.poll(async () => (record = await recorded(position))).toBeTruthy();
    expect(record).not.toContain("Half a");
    await expect.poll(() => prose.textContent()).toBe(record);
    await page.reload();
    await isLive(page);
    await expect.poll(() => prose.textContent()).toBe(record);
  }, 60_000);
});

/**
 * A run's record is written as its turns are persisted, which may come well after they are shown
 * (the persist tick, a busy database). The player's run panel reads it again once they are: read
 * only as a turn arrived, it kept the count from before whenever persisting took longer than its
 * wait, until some later turn came. Persisting does not depend on the storage mode: embedded only.
 */
describe("pages whose reads come late (embedded)", () => {
  /** Far longer than the panel's one-second wait before it reads the record. */
  const PERSIST_EVERY_MS = 3_000;
  let server: LoomServer & { url: string };
  let browser: Browser;

  beforeAll(async () => {
    await readyForBrowser();
    server = await startServer(modes()[0]!, { port: PORT, persistIntervalMs: PERSIST_EVERY_MS });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.shutdown();
  });

  it("shows the player's turns counted once they are persisted, with no other turn after them", async () => {
    const { page } = await gameMaster(browser, server.url, "Ines", "The Slow Coast");
    await page.getByRole("link", { name: "← Universes" }).click();
    await newCharacter(page, "The Slow Coast", "Mara");
    const panel = page.locator("#run");
    await panel.filter({ hasText: "· 0 turns ·" }).waitFor();
    // the last turn of the table for now: nothing arrives after it to prompt another read
    await actFreely(page, "Mara lights the harbour lamp.");
    await panel.filter({ hasText: "· 1 turn ·" }).waitFor({ timeout: PERSIST_EVERY_MS * 4 });
  }, 90_000);

  it("a read of the run that answers after the player paused it does not bring the run back", async () => {
    const { context, page } = await gameMaster(browser, server.url, "Quinn", "The Held Read");
    await page.getByRole("link", { name: "← Universes" }).click();
    await newCharacter(page, "The Held Read", "Mara");
    // the page's next read of the run record (a second after a turn is persisted) is answered
    // late, as it stood before the pause
    let hold = false;
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = () => undefined as void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    await page.route(
      (url) => /^\/api\/runs\/[^/]+$/.test(url.pathname),
      async (route) => {
        if (!hold || route.request().method() !== "GET") return route.continue();
        hold = false;
        const response = await route.fetch();
        held();
        await released;
        await route.fulfill({ response });
      },
    );
    hold = true;
    await actFreely(page, "Mara trims the lamp wick.");
    await holding;
    await page.getByRole("button", { name: "Pause run" }).click();
    const state = page.locator("#run .run-state");
    await state.filter({ hasText: "paused" }).waitFor();
    release();
    await page.waitForTimeout(2_000);
    expect(await state.textContent()).toBe("paused");
    await page.getByText("This run is paused.").waitFor();
    await context.close();
  }, 90_000);

  it("an invite accepted while the list of universes still loads shows its universe", async () => {
    const gm = await gameMaster(browser, server.url, "Oona", "The Late List");
    const { context, page } = await newPage(browser);
    // the first list the page reads is answered late, read by the server before the invite is
    // accepted: the page must read it again after, not keep the late answer
    let late = true;
    await page.route(
      (url) => url.pathname === "/api/universes",
      async (route) => {
        if (!late || route.request().method() !== "GET") return route.continue();
        late = false;
        const response = await route.fetch();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await route.fulfill({ response });
      },
    );
    await register(page, gm.invite, "Pia");
    await form(page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
    await page.getByText("You are a member of The Late List.").waitFor();
    await page.locator('li.universe[data-name="The Late List"]').waitFor();
    await context.close();
    await gm.context.close();
  }, 90_000);
});
