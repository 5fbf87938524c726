import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { launchChromium, readyForBrowser } from "./browser/chromium.ts";
import { modes, startServer } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { form, newPage, register } from "./browser/scenario.ts";
import {
  acknowledged,
  actFreely,
  gameMaster,
  invited,
  isLive,
  liveStatus,
  newCharacter,
  sidewaysOverflow,
  turnAt,
  type Person,
} from "./browser/people.ts";

const PORT = 2686;
const UNIVERSE = "The Tidewater Reach";

/** The page-level stand-in for a server that stops answering: what the page sends, held back. */
type Holding = { holdSends: (pings?: boolean) => void; releaseSends: () => void };

/** The id a page's player sees beside their name (a GM adds a player by it). */
async function playerIdOf(page: Page): Promise<string> {
  return ((await page.locator("nav.top .who code").textContent()) ?? "").trim();
}

/** Sends the GM's typed command and waits for the status line that says `saying`. */
async function send(f: Locator, saying: string): Promise<string> {
  await f.getByRole("button", { name: "Send command" }).click();
  const status = f.getByRole("status").filter({ hasText: saying });
  await status.waitFor();
  return (await status.textContent()) ?? "";
}

/** The console's scrubber resting at `position`, its view read. */
async function scrubTo(gm: Page, position: number): Promise<void> {
  await gm.getByRole("slider").fill(String(position));
  await gm.locator(`.scrub-view[data-position="${position}"]`).waitFor();
}

/**
 * A game master runs an evening for three players from the console, in a real browser against the
 * real server: invites by link and by code, typed commands, a hidden roll, retcons, the scrubber
 * and its bookmarks, undo, branches handed to a player, snapshots, members, at a phone's width and
 * from the keyboard, with reloads. Each test is one thing the console must get right for the GM.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a game master's evening in a browser (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let browser: Browser;
    let gm: Person & { universeId: string; invite: string };
    let alex: Person;
    let bo: Person;
    let cai: Person;
    /** A fourth player, who accepts an invite by its code and makes no character. */
    let dee: Person;
    let consoleUrl: string;
    /** The path of Alex's play page, for Mara's run. */
    let alexPlay: string;

    beforeAll(async () => {
      await readyForBrowser();
      server = await startServer(mode, { port: PORT });
      browser = await launchChromium();
      gm = await gameMaster(browser, server.url, "Morgan GM", UNIVERSE);
      consoleUrl = gm.page.url();
      alex = await invited(browser, gm.invite, "Alex", UNIVERSE);
      bo = await invited(browser, gm.invite, "Bo", UNIVERSE);
      cai = await invited(browser, gm.invite, "Cai", UNIVERSE, 375); // a phone
      await newCharacter(alex.page, UNIVERSE, "Mara");
      alexPlay = new URL(alex.page.url()).pathname;
      await newCharacter(bo.page, UNIVERSE, "Tamsin");
      await newCharacter(cai.page, UNIVERSE, "Wren");
      await actFreely(alex.page, "Mara ties up the skiff.");
      const f = form(gm.page, "Game master command");
      await f.getByLabel("Title", { exact: true }).fill("The Flooded Mill");
      await f.getByLabel("Situation aspects", { exact: true }).fill("Rising Water\nRotten Beams");
      await send(f, "The Flooded Mill");
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await server?.shutdown();
    });

    it("a player who accepts an invite by its code shows up in the members list, with the invite's uses, without a reload", async () => {
      const code = ((await gm.page.locator("code.invite-code").first().textContent()) ?? "").trim();
      const used = gm.page.locator("ul.invites li").first();
      await used.filter({ hasText: "used 3" }).waitFor();
      const { context, page } = await newPage(browser);
      dee = { context, page };
      await register(page, server.url, "Dee");
      const accept = form(page, "Accept an invite");
      await accept.getByLabel("Invite code or link", { exact: true }).fill(code);
      await accept.getByRole("button", { name: "Accept invite" }).click();
      await page.locator(`li.universe[data-name="${UNIVERSE}"]`).waitFor();
      const deeId = await playerIdOf(page);
      // no character, so no turn: the room's `members` message has the console read its lists
      // again, well before its 10 s reading
      await gm.page
        .locator("ul.members li")
        .filter({ hasText: deeId })
        .filter({ hasText: "no character yet" })
        .waitFor({ timeout: 5_000 });
      // by the name Dee registered with (register adds the run's tag), not only an id
      expect(
        await gm.page.locator("ul.members li").filter({ hasText: deeId }).locator("strong").textContent(),
      ).toMatch(/^Dee \S+$/);
      await used.filter({ hasText: "used 4" }).waitFor();
    }, 60_000);

    it("removing a member asks first; cancelled, nothing happens; removed and re-admitted, the console says so", async () => {
      const deeId = await playerIdOf(dee.page);
      await gm.page.reload();
      await isLive(gm.page);
      const row = gm.page.locator("ul.members li").filter({ hasText: deeId });
      await row.getByRole("button", { name: "Remove" }).click();
      const asking = row.getByRole("group", { name: "Remove" });
      await asking.waitFor();
      expect(await asking.textContent()).toMatch(/may no longer read, watch or play here/);
      // the keyboard is on the answer, and Cancel leaves Dee a member
      expect(
        await row.getByRole("button", { name: /^Yes, remove/ }).evaluate((b) => b === document.activeElement),
      ).toBe(true);
      await asking.getByRole("button", { name: "Cancel" }).click();
      await row.getByRole("button", { name: "Remove" }).waitFor();
      await gm.page.getByRole("button", { name: "Read again" }).click();
      await gm.page.waitForTimeout(500);
      expect(await row.locator(".badge").count()).toBe(0);

      await row.getByRole("button", { name: "Remove" }).click();
      await row.getByRole("button", { name: /^Yes, remove/ }).click();
      await row.locator(".badge").filter({ hasText: "removed" }).waitFor();
      await gm.page.locator("#members [role=status]").filter({ hasText: "was removed." }).waitFor();
      await row.getByRole("button", { name: "Re-admit" }).click();
      await gm.page.locator("#members [role=status]").filter({ hasText: "is a member again." }).waitFor();
      await row.getByRole("button", { name: "Remove" }).waitFor();
    }, 60_000);

    it("the invite link is copied with a button, which says it was", async () => {
      await gm.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
      const row = gm.page.locator("ul.invites li").first();
      const link = await row.getByLabel("Invite link", { exact: true }).inputValue();
      await row.getByRole("button", { name: "Copy link" }).click();
      await row.getByRole("status").filter({ hasText: "Link copied." }).waitFor();
      expect(await gm.page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    }, 30_000);

    it("the hidden roll section rolls in secret unless told otherwise", async () => {
      const section = gm.page.locator("#hidden-roll");
      await section.getByLabel("Roll for", { exact: true }).selectOption({ label: "Mara" });
      const roll = form(gm.page, "Take an action");
      expect(await roll.getByLabel(/Hidden roll/).isChecked()).toBe(true);
      await roll.getByLabel("Skill", { exact: true }).fill("Notice");
      await roll.getByRole("button", { name: "Roll" }).click();
      const status = roll.getByRole("status").filter({ hasText: /^Turn #\d+/ });
      await status.waitFor();
      const position = Number(/^Turn #(\d+)/.exec((await status.textContent()) ?? "")?.[1]);
      // the player learns that it happened, not the dice
      await turnAt(alex.page, position).waitFor();
      expect(await turnAt(alex.page, position).locator(".roll").count()).toBe(0);
      await turnAt(gm.page, position).locator(".roll").filter({ hasText: "hidden roll" }).waitFor();
      // what an advantage earns shows on the scene everyone reads: the server refuses it hidden
      await roll.getByLabel("Create an advantage").check();
      expect(await roll.getByLabel(/Hidden roll/).isDisabled()).toBe(true);
      await roll.getByLabel("Overcome").check();
      expect(await roll.getByLabel(/Hidden roll/).isDisabled()).toBe(false);
    }, 30_000);

    it("the hidden roll suggests the skills of the character it is for", async () => {
      const section = gm.page.locator("#hidden-roll");
      await section.getByLabel("Roll for", { exact: true }).selectOption({ label: "Tamsin" });
      await section.locator('datalist#skills option[value="Athletics"]').waitFor({ state: "attached" });
    }, 30_000);

    it("a typed command's fields start empty for each command and after each one sent, and its status names the id made", async () => {
      const f = form(gm.page, "Game master command");
      await f.getByLabel("Command", { exact: true }).selectOption("npc");
      await f.getByLabel("Id", { exact: true }).fill("oskar");
      await f.getByLabel("Name", { exact: true }).fill("Oskar the Ferryman");
      const npc = await send(f, "Oskar the Ferryman enters the story");
      expect(npc).toContain("(id oskar)");
      expect(await f.getByLabel("Name", { exact: true }).inputValue()).toBe("");
      // the NPC's id does not ride along to a quest (it would have become the quest's id)
      await f.getByLabel("Command", { exact: true }).selectOption("quest");
      expect(await f.getByLabel("Id", { exact: true }).inputValue()).toBe("");
      await f.getByLabel("Title", { exact: true }).fill("Ferry the lantern across");
      const quest = await send(f, 'The quest "Ferry the lantern across" is open');
      expect(quest).toMatch(/\(id quest-\d+\)$/);
      expect(await f.getByLabel("Title", { exact: true }).inputValue()).toBe("");
    }, 30_000);

    it("a command that changes a quest, NPC or aspect picks it from what the world holds", async () => {
      const f = form(gm.page, "Game master command");
      await f.getByLabel("Command", { exact: true }).selectOption("quest");
      await f.getByLabel("Id", { exact: true }).fill("cross-bay");
      await f.getByLabel("Title", { exact: true }).fill("Cross the bay");
      await send(f, 'The quest "Cross the bay" is open');
      await f.getByLabel("Operation", { exact: true }).selectOption("resolve");
      const picker = f.getByLabel("Id", { exact: true });
      await picker
        .locator("option", { hasText: "Cross the bay (active) · cross-bay" })
        .waitFor({ state: "attached" });
      await picker.selectOption("cross-bay");
      await send(f, 'The quest "Cross the bay" is resolved');
      // the scene's aspects, by name
      await f.getByLabel("Command", { exact: true }).selectOption("aspect");
      await f.getByLabel("Operation", { exact: true }).selectOption("remove");
      const aspect = f.getByLabel("Id", { exact: true }).locator("option", { hasText: "Rotten Beams" });
      await f.getByLabel("Id", { exact: true }).selectOption((await aspect.getAttribute("value")) ?? "");
      await send(f, '"Rotten Beams" no longer holds');
    }, 30_000);

    it("a compel suggests the character's aspects and the scene's", async () => {
      const f = form(gm.page, "Game master command");
      await f.getByLabel("Command", { exact: true }).selectOption("compel");
      await f.getByLabel("Character", { exact: true }).selectOption({ label: "Wren" });
      const offered = () =>
        f
          .locator("datalist#compellable option")
          .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
      await expect.poll(offered).toContain("Wren owes the Salt Guild");
      expect(await offered()).toEqual(expect.arrayContaining(["Wren, salt-road smuggler", "Rising Water"]));
      await f.getByLabel("Aspect compelled", { exact: true }).fill("Wren owes the Salt Guild");
      await f.getByLabel("Complication", { exact: true }).fill("a Guild runner finds her");
      await send(f, "Wren accepts a compel");
    }, 30_000);

    it("a refused command does not leave the last one's success beside its refusal", async () => {
      const f = form(gm.page, "Game master command");
      await f.getByLabel("Command", { exact: true }).selectOption("world_event");
      await f.getByLabel("What happens", { exact: true }).fill("The mill wheel groans.");
      await send(f, "The mill wheel groans.");
      await f.getByLabel("Command", { exact: true }).selectOption("compel");
      await f.getByLabel("Character", { exact: true }).selectOption({ label: "Mara" });
      await f.getByLabel("Aspect compelled", { exact: true }).fill("Not an aspect of hers");
      await f.getByLabel("Complication", { exact: true }).fill("nothing at all");
      await f.getByRole("button", { name: "Send command" }).click();
      await f.getByRole("alert").filter({ hasText: "unknown_aspect" }).waitFor();
      expect(await f.getByRole("status").count()).toBe(0);
    }, 30_000);

    it("undoing a player's turn asks first, naming it; cancelled, it stands; confirmed, everyone sees it undone", async () => {
      const position = await actFreely(alex.page, "Mara kicks the mill door in.");
      const undo = gm.page.getByRole("button", { name: `Undo latest turn (#${position})` });
      await undo.click();
      const asking = gm.page.getByRole("group", { name: `Undo latest turn (#${position})` });
      await asking.waitFor();
      expect(await asking.textContent()).toMatch(new RegExp(`#${position} \\(custom by Mara`));
      // the question has the keyboard as it shows
      expect(await asking.evaluate((group) => group.contains(document.activeElement))).toBe(true);
      await gm.page.keyboard.press("Escape");
      await undo.waitFor();
      await gm.page.waitForTimeout(500);
      expect(await turnAt(alex.page, position).getAttribute("class")).not.toContain("undone");
      await undo.click();
      await asking.getByRole("button", { name: `Yes, undo turn #${position}` }).click();
      for (const page of [alex.page, bo.page, gm.page])
        await page.locator(`ol.timeline > li.turn.undone[data-position="${position}"]`).waitFor();
      // her page no longer says the turn was made as if it stood, nor offers a save point at it
      await form(alex.page, "Take an action")
        .getByRole("status")
        .filter({ hasText: `Turn #${position}:` })
        .waitFor({ state: "detached" });
      const save = form(alex.page, "Name a save point").locator("label.label");
      await expect
        .poll(async () => Number(/#(\d+)$/.exec((await save.textContent()) ?? "")?.[1] ?? position))
        .toBeLessThan(position);
    }, 30_000);

    it("the scrubber at a turn undone meanwhile says so, and its undo says why it cannot be done", async () => {
      const position = await actFreely(bo.page, "Tamsin pockets a brass key.");
      // a later turn: the GM's scrubber rests on hers, not on the head it would follow
      const later = await actFreely(cai.page, "Wren counts the gulls.");
      await gm.page
        .locator("header.bar [role=status]")
        .filter({ hasText: `head #${later}` })
        .waitFor();
      await scrubTo(gm.page, position);
      const undoHere = gm.page.getByRole("button", { name: `Undo turn #${position}` });
      expect(await undoHere.isEnabled()).toBe(true);
      // her player takes it back while the GM looks at it
      await bo.page.getByRole("button", { name: `Undo my turn #${position}` }).click();
      await gm.page.locator(`.scrub-view[data-position="${position}"] .undone-note`).waitFor();
      await expect.poll(() => undoHere.isDisabled()).toBe(true);
      await gm.page.locator("#scrubber").getByText(`Turn #${position} is already undone.`).waitFor();
      await gm.page.getByRole("button", { name: "Head" }).click();
    }, 30_000);

    it("in a new universe, undo says there is nothing to undo instead of a refusal that outlives it", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        await page.goto(server.url);
        const create = form(page, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill("An Empty Sea");
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(page);
        const undo = page.getByRole("button", { name: /^Undo latest turn/ });
        expect(await undo.isDisabled()).toBe(true);
        await page.getByText("Nothing to undo yet").waitFor();
        const f = form(page, "Game master command");
        await f.getByLabel("Title", { exact: true }).fill("Open Water");
        await send(f, "Open Water");
        await page.getByRole("button", { name: "Undo latest turn (#1)" }).waitFor();
        expect(await page.locator("#scrubber").getByRole("alert").count()).toBe(0);
      } finally {
        await page.close();
      }
    }, 60_000);

    it("a retcon's raw deltas that are not JSON are refused with a code", async () => {
      const retcon = form(gm.page, "Retcon");
      await retcon.getByLabel("Note", { exact: true }).fill("the door was never locked");
      await retcon.getByLabel("Advanced: raw deltas").check();
      await retcon.getByLabel("Deltas (JSON)", { exact: true }).fill("[{op:set}]");
      await retcon.getByRole("button", { name: "Retcon", exact: true }).click();
      const refused = retcon.getByRole("alert");
      await refused.waitFor();
      expect(await refused.textContent()).toMatch(/^invalid_message: the deltas are not JSON/);
      await retcon.getByLabel("Advanced: raw deltas").uncheck();
    }, 30_000);

    it("a retcon recorded empties the form, and its status goes when the next one is refused", async () => {
      const retcon = form(gm.page, "Retcon");
      await retcon.getByLabel("Advanced: raw deltas").uncheck();
      await retcon.getByLabel("Note", { exact: true }).fill("the mill was flooded a week ago");
      await retcon.getByLabel("Set (JSON Pointer)", { exact: true }).fill("/scene/summary");
      await retcon.getByLabel("To", { exact: true }).fill("Knee-deep water in the mill");
      await retcon.getByRole("button", { name: "Retcon", exact: true }).click();
      await retcon
        .getByRole("status")
        .filter({ hasText: /^Retcon recorded as turn #\d+\.$/ })
        .waitFor();
      // a second press does not record it twice: the fields are empty
      expect(await retcon.getByLabel("Note", { exact: true }).inputValue()).toBe("");
      expect(await retcon.getByLabel("Set (JSON Pointer)", { exact: true }).inputValue()).toBe("");
      await retcon.getByLabel("Note", { exact: true }).fill("a path that is not there");
      await retcon.getByLabel("Set (JSON Pointer)", { exact: true }).fill("/scene/nonsense");
      await retcon.getByLabel("To", { exact: true }).fill("x");
      await retcon.getByRole("button", { name: "Retcon", exact: true }).click();
      await retcon.getByRole("alert").filter({ hasText: "invalid_action" }).waitFor();
      expect(await retcon.getByRole("status").count()).toBe(0);
    }, 30_000);

    it("a retcon just recorded can be undone from where it was made", async () => {
      const retcon = form(gm.page, "Retcon");
      await retcon.getByLabel("Advanced: raw deltas").uncheck();
      await retcon.getByLabel("Note", { exact: true }).fill("the wheel was always broken");
      await retcon.getByLabel("Set (JSON Pointer)", { exact: true }).fill("/world/flags/wheel");
      await retcon.getByLabel("To", { exact: true }).fill("broken");
      await retcon.getByRole("button", { name: "Retcon", exact: true }).click();
      const status = retcon.getByRole("status").filter({ hasText: /^Retcon recorded as turn #\d+\.$/ });
      await status.waitFor();
      const position = Number(/#(\d+)/.exec((await status.textContent()) ?? "")?.[1]);
      await retcon.getByRole("button", { name: `Undo this retcon (#${position})` }).click();
      await alex.page.locator(`ol.timeline > li.turn.undone[data-position="${position}"]`).waitFor();
      await retcon.getByText("It has been undone.").waitFor();
    }, 30_000);

    it("the keyboard's arrows go from one bookmark to the next", async () => {
      const bookmarks = gm.page.getByLabel("Bookmarks");
      const marked = async () =>
        (await bookmarks.locator("option").allTextContents())
          .map((label) => Number(/^#(\d+)/.exec(label)?.[1]))
          .filter((position) => !Number.isNaN(position));
      await expect.poll(async () => (await marked()).length).toBeGreaterThanOrEqual(3);
      const [first, second] = await marked();
      await bookmarks.focus();
      await gm.page.keyboard.press("ArrowDown");
      await gm.page.locator(`.scrub-view[data-position="${first}"]`).waitFor();
      await gm.page.keyboard.press("ArrowDown");
      await gm.page.locator(`.scrub-view[data-position="${second}"]`).waitFor();
      expect(await gm.page.locator("output.scrub-position").textContent()).toBe(String(second));
    }, 30_000);

    it("a reload in the middle of scrubbing comes back to the same position", async () => {
      await scrubTo(gm.page, 5);
      await gm.page.reload();
      await isLive(gm.page);
      await gm.page.locator('.scrub-view[data-position="5"]').waitFor();
      expect(await gm.page.locator("output.scrub-position").textContent()).toBe("5");
      await gm.page.getByText("Pinned: drag to the end").waitFor();
      await gm.page.getByRole("button", { name: "Head" }).click();
      await expect.poll(() => new URL(gm.page.url()).search).toBe("");
    }, 30_000);

    it("the snapshot list on screen shows a snapshot as soon as it is taken", async () => {
      await gm.page.getByRole("button", { name: "List the snapshots" }).click();
      const list = gm.page.getByRole("list", { name: "Snapshots" });
      await list.waitFor();
      await gm.page.getByRole("button", { name: "Snapshot", exact: true }).click();
      const taken = gm.page.locator(".tool-result").filter({ hasText: /^Snapshot taken at #\d+\.$/ });
      await taken.waitFor();
      const position = /#(\d+)/.exec((await taken.textContent()) ?? "")?.[1];
      await list
        .locator("li")
        .filter({ hasText: "manual" })
        .getByRole("button", { name: `#${position}` })
        .waitFor();
    }, 30_000);

    it("the whole state's button says it is reading while it reads", async () => {
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      const size = gm.page.viewportSize();
      const isStateRead = (url: URL) => url.pathname.endsWith("/state") && url.searchParams.has("position");
      await gm.page.route(isStateRead, async (route) => {
        await held;
        await route.continue();
      });
      try {
        await scrubTo(gm.page, 4);
        // at a phone's width, where its lines are longest against the page
        await gm.page.setViewportSize({ width: 390, height: 844 });
        await gm.page.getByRole("button", { name: "Whole state at #4 (JSON, with checksum)" }).click();
        const reading = gm.page.getByRole("button", { name: "Reading the state at #4…" });
        await reading.waitFor();
        expect(await reading.isDisabled()).toBe(true);
        release();
        await gm.page.locator(".full-state").waitFor();
        // its long lines scroll in their own box: the page does not scroll sideways
        expect(await sidewaysOverflow(gm.page)).toBe(0);
        const pre = gm.page.locator(".full-state pre");
        expect(await pre.evaluate((box) => box.scrollWidth > box.clientWidth)).toBe(true);
      } finally {
        release();
        await gm.page.unroute(isStateRead);
        if (size) await gm.page.setViewportSize(size);
        await gm.page.getByRole("button", { name: "Head" }).click();
      }
    }, 30_000);

    it("a filter that finds nothing says so once", async () => {
      const filters = form(gm.page, "Filter the timeline");
      await filters.getByLabel("Search", { exact: true }).fill("zeppelinquartz");
      await filters.getByRole("button", { name: "Filter" }).click();
      await gm.page.getByText("0 turns found (newest 100 at most).").waitFor();
      expect(await gm.page.getByRole("list", { name: "Search results" }).locator("li").count()).toBe(0);
      await filters.getByRole("button", { name: "Back to live" }).click();
      await filters.getByLabel("Search", { exact: true }).fill("");
    }, 30_000);

    let branchConsole = "";
    it("a branch's console says what it branched from, and where, with the way back", async () => {
      await scrubTo(gm.page, 8);
      const branch = form(gm.page, "Branch");
      await branch.getByRole("textbox").fill("Mara's own tide");
      await branch.getByRole("button", { name: "Branch at #8" }).click();
      await gm.page.getByRole("heading", { name: "Mara's own tide · game master" }).waitFor();
      await isLive(gm.page);
      branchConsole = gm.page.url();
      const line = gm.page.getByRole("note").filter({ hasText: "A branch of" });
      await line.filter({ hasText: `${UNIVERSE} at #8` }).waitFor();
      expect(await line.getByRole("link", { name: UNIVERSE }).getAttribute("href")).toBe(
        new URL(consoleUrl).pathname,
      );
      // its latest turn is the parent's: not offered to undo here, and said why
      const undoLatest = gm.page.getByRole("button", { name: /^Undo latest turn/ });
      await expect.poll(() => undoLatest.textContent()).toBe("Undo latest turn");
      expect(await undoLatest.isDisabled()).toBe(true);
      expect(await undoLatest.getAttribute("title")).toBe(
        "Turn #8 is before this branch's start: undo it in the parent.",
      );
      await gm.page
        .locator("#scrubber")
        .getByText("Turn #8 is before this branch's start: undo it in the parent.")
        .first()
        .waitFor();
    }, 30_000);

    it("handing a branch to a player asks first, then says it is theirs", async () => {
      const alexId = await playerIdOf(alex.page);
      const row = gm.page.locator("ul.members li").filter({ hasText: alexId });
      await row.getByRole("button", { name: "Hand over as their solo timeline" }).click();
      const asking = row.getByRole("group", { name: "Hand over as their solo timeline" });
      await asking.waitFor();
      expect(await asking.textContent()).toMatch(/every other member is let go/);
      await asking.getByRole("button", { name: /^Yes, hand it to Alex \S+ \(Mara\)$/ }).click();
      await gm.page
        .locator("#members [role=status]")
        .filter({ hasText: /now Alex \S+ \(Mara\)'s solo timeline/ })
        .waitFor();
      await expect.poll(() => gm.page.locator("ul.members li").count()).toBe(1);
      await row.getByText("their solo timeline", { exact: true }).waitFor();
      expect(await row.getByRole("button", { name: "Hand over as their solo timeline" }).count()).toBe(0);
    }, 30_000);

    it("the player starts a run there with their character, from their list of universes", async () => {
      const page = alex.page;
      await page.getByRole("link", { name: "← Universes" }).click();
      const listed = page.locator(`li.universe[data-name="Mara's own tide"]`);
      await listed.getByRole("button", { name: "Start a run with Mara" }).click();
      await page.getByRole("heading", { name: "Your turn" }).waitFor();
      await isLive(page);
      expect(page.url()).toContain(new URL(branchConsole).pathname.split("/")[2]!);
      await gm.page.locator("#table .presence li.present").filter({ hasText: "Mara" }).waitFor();
      const position = await actFreely(page, "Mara sails the branch alone.");
      await turnAt(gm.page, position).waitFor();
    }, 60_000);

    it("a new character is held to the limits the console sets: the form offers the cap, counts points and refuses a sheet over them; raised, a +6 skill is made", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        await page.goto(consoleUrl);
        await isLive(page);
        const limits = form(page, "Character limits");
        const cap = limits.getByLabel("Skill cap", { exact: true });
        await expect.poll(() => cap.inputValue()).toBe("4");
        expect(await cap.locator("option:checked").textContent()).toBe("+4 Great");
        expect(await limits.getByLabel("Skill points", { exact: true }).inputValue()).toBe("20");
        expect(await limits.getByLabel("Refresh", { exact: true }).inputValue()).toBe("3");

        // Dee (a member with no character yet) fills in a sheet over the points
        const sheetUrl = `${server.url}/u/${gm.universeId}/new`;
        const sent: string[] = [];
        dee.page.on("request", (request) => {
          if (request.method() === "POST" && request.url().endsWith("/characters")) sent.push(request.url());
        });
        await dee.page.goto(sheetUrl);
        const sheet = form(dee.page, "Character sheet");
        await sheet
          .getByText(
            "In this universe a new character has skills up to Great (+4), 20 skill points and a refresh of at most 3",
          )
          .waitFor();
        const offered = (index: number) =>
          sheet
            .getByLabel(`Skill ${index} rating`, { exact: true })
            .locator("option")
            .evaluateAll((options) => options.map((option) => Number((option as HTMLOptionElement).value)));
        expect(Math.max(...(await offered(1)))).toBe(4);
        expect(await sheet.getByLabel("Refresh", { exact: true }).getAttribute("max")).toBe("3");
        await sheet.getByLabel("Name", { exact: true }).fill("Ysolde");
        await sheet.getByLabel("High concept", { exact: true }).fill("Ysolde, lighthouse keeper");
        await sheet.getByLabel("Trouble", { exact: true }).fill("Ysolde cannot leave the light");
        const skills: Array<[string, string]> = [
          ["Notice", "4"],
          ["Will", "4"],
          ["Lore", "4"],
          ["Craft", "4"],
          ["Empathy", "4"],
          ["Rapport", "1"],
        ];
        for (const [index, [skill, rating]] of skills.entries()) {
          if (index >= 3) await sheet.getByRole("button", { name: "Add skill" }).click();
          await sheet.getByLabel(`Skill ${index + 1} name`, { exact: true }).fill(skill);
          await sheet.getByLabel(`Skill ${index + 1} rating`, { exact: true }).selectOption(rating);
        }
        await sheet.getByText("Skill points: 21 of 20").waitFor();
        await sheet.getByRole("button", { name: /Create character/ }).click();
        await sheet
          .getByRole("alert", { name: "Sheet problems" })
          .filter({ hasText: "the skills add up to 21 points, over the 20 a new character has" })
          .waitFor();
        expect(new URL(dee.page.url()).pathname).toBe(new URL(sheetUrl).pathname);
        expect(sent).toEqual([]);

        // the game master raises the cap
        await cap.selectOption("6");
        await limits.getByRole("button", { name: "Save limits" }).click();
        await limits
          .getByRole("status")
          .filter({
            hasText: "Saved: new characters have skills up to Fantastic (+6), 20 skill points, refresh 3.",
          })
          .waitFor();
        await page.reload();
        await isLive(page);
        await expect.poll(() => cap.inputValue()).toBe("6");

        await dee.page.reload();
        await sheet.getByText("skills up to Fantastic (+6)").waitFor();
        expect(Math.max(...(await offered(1)))).toBe(6);
        await sheet.getByLabel("Name", { exact: true }).fill("Ysolde");
        await sheet.getByLabel("High concept", { exact: true }).fill("Ysolde, lighthouse keeper");
        await sheet.getByLabel("Trouble", { exact: true }).fill("Ysolde cannot leave the light");
        await sheet.getByLabel("Skill 1 name", { exact: true }).fill("Notice");
        await sheet.getByLabel("Skill 1 rating", { exact: true }).selectOption("6");
        await sheet.getByText("Skill points: 6 of 20").waitFor();
        await sheet.getByRole("button", { name: /Create character/ }).click();
        await dee.page.getByRole("heading", { name: "Your turn" }).waitFor();
        await isLive(dee.page);
        await dee.page.locator("dl.sheet").getByText("Notice +6").waitFor();
        expect(sent).toHaveLength(1);

        // the game master requires the pyramid: the sheet form says so and holds a sheet to it
        await limits.getByLabel(/Skills must form a pyramid/).check();
        await limits.getByRole("button", { name: "Save limits" }).click();
        await limits
          .getByRole("status")
          .filter({
            hasText:
              "Saved: new characters have skills up to Fantastic (+6), 20 skill points in a pyramid, refresh 3.",
          })
          .waitFor();
        await dee.page.goto(sheetUrl);
        await sheet.getByText("This universe's game master requires it.").waitFor();
        await sheet.getByLabel("Skill 1 name", { exact: true }).fill("Notice");
        await sheet.getByLabel("Skill 1 rating", { exact: true }).selectOption("3");
        await sheet.getByLabel("Skill 2 name", { exact: true }).fill("Will");
        await sheet.getByLabel("Skill 2 rating", { exact: true }).selectOption("3");
        await sheet
          .getByRole("list", { name: "Pyramid required" })
          .filter({ hasText: "2 skills at Good (+3) but 0 at Fair (+2)" })
          .waitFor();
        await page.reload();
        await isLive(page);
        await expect.poll(() => limits.getByLabel(/Skills must form a pyramid/).isChecked()).toBe(true);
      } finally {
        await page.close();
      }
    }, 90_000);

    it("at a phone's width the console, and a question it asks, fit", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        await page.setViewportSize({ width: 375, height: 740 });
        await page.goto(consoleUrl);
        await isLive(page);
        expect(await sidewaysOverflow(page)).toBe(0);
        const row = page.locator("ul.members li").first();
        await row.getByRole("button", { name: "Remove" }).click();
        await row.getByRole("group", { name: "Remove" }).waitFor();
        expect(await sidewaysOverflow(page)).toBe(0);
        await row.getByRole("button", { name: "Cancel" }).click();
      } finally {
        await page.close();
      }
    }, 60_000);

    it("from the keyboard, a skip link leads to the commands", async () => {
      const page = gm.page;
      await page.locator("nav.top .brand").focus();
      const onSkipLink = () =>
        page.evaluate(
          () =>
            document.activeElement?.closest("nav.sections") !== null &&
            document.activeElement?.textContent === "Commands",
        );
      for (let presses = 0; presses < 10 && !(await onSkipLink()); presses++)
        await page.keyboard.press("Tab");
      expect(await onSkipLink()).toBe(true);
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      const command = form(page, "Game master command").getByLabel("Command", { exact: true });
      expect(await command.evaluate((select) => select === document.activeElement)).toBe(true);
    }, 30_000);

    it("a command sent from the keyboard leaves the keyboard in the emptied form, for the next one", async () => {
      const page = gm.page;
      const f = form(page, "Game master command");
      const command = f.getByLabel("Command", { exact: true });
      await command.focus();
      await page.keyboard.type("World");
      expect(await command.inputValue()).toBe("world_event");
      await page.keyboard.press("Tab");
      await page.keyboard.type("Gulls wheel over the mill.");
      await page.keyboard.press("Tab"); // the "major" box
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
      await f.getByRole("status").filter({ hasText: "Gulls wheel" }).waitFor();
      await expect
        .poll(() => page.evaluate(() => (document.activeElement as HTMLTextAreaElement | null)?.name))
        .toBe("text");
      await page.keyboard.type("The tide turns.");
      expect(await f.getByLabel("What happens", { exact: true }).inputValue()).toBe("The tide turns.");
    }, 30_000);

    it("a player's action the server did not answer in time, sent again, is recorded once; its turn arriving meanwhile clears the error", async () => {
      // what the page sends the room is held back, as a server that has stopped answering would
      // leave it, until released in order (a page-level stand-in: playwright's routeWebSocket
      // cannot carry the options object the Colyseus client first tries its WebSocket with).
      // Pings (a one-byte frame) go through unless told: this server still answers them
      await bo.page.addInitScript(() => {
        const send = WebSocket.prototype.send;
        const held: Array<() => void> = [];
        const holding = { on: false, pings: false };
        const ping = (data: unknown) =>
          (data instanceof Uint8Array || data instanceof ArrayBuffer) && data.byteLength === 1;
        WebSocket.prototype.send = function (this: WebSocket, data) {
          if (holding.on && (holding.pings || !ping(data))) held.push(() => send.call(this, data));
          else send.call(this, data);
        };
        Object.assign(window, {
          holdSends: (pings = false) => void Object.assign(holding, { on: true, pings }),
          releaseSends: () => {
            holding.on = false;
            for (const sendHeld of held.splice(0)) sendHeld();
          },
        });
      });
      const hold = () => bo.page.evaluate(() => (window as unknown as Holding).holdSends());
      const release = () => bo.page.evaluate(() => (window as unknown as Holding).releaseSends());
      await bo.page.reload();
      await isLive(bo.page);
      const act = form(bo.page, "Take an action");
      const unknown = act.getByRole("alert").filter({ hasText: /^outcome_unknown: / });
      const recorded = (text: string) => bo.page.locator("ol.timeline > li.turn").filter({ hasText: text });
      try {
        await hold();
        await act.getByRole("radio", { name: "Free text" }).check();
        await act.getByLabel("What do you do?", { exact: true }).fill("Tamsin rings the mill bell once.");
        await act.getByRole("button", { name: "Do it" }).click();
        // free text rolls nothing: the button says it is sending
        await act.getByRole("button", { name: "Sending…" }).waitFor();
        await unknown.waitFor({ timeout: 30_000 });
        expect(await unknown.textContent()).toMatch(
          /may or may not have been recorded.*recorded at most once/,
        );
        expect(await unknown.textContent()).not.toMatch(/seq/);
        await act.getByRole("button", { name: "Do it" }).click();
        await release();
        const text = await acknowledged(bo.page, "Tamsin rings the mill bell once.");
        const position = Number(/^Turn #(\d+)/.exec(text)?.[1]);
        await turnAt(bo.page, position).waitFor();
        await bo.page.waitForTimeout(1_000);
        expect(await recorded("Tamsin rings the mill bell once.").count()).toBe(1);
        expect(await unknown.count()).toBe(0);

        await hold();
        await act.getByLabel("What do you do?", { exact: true }).fill("Tamsin counts the sacks of flour.");
        await act.getByRole("button", { name: "Do it" }).click();
        await unknown.waitFor({ timeout: 30_000 });
        await release();
        // no second press: the turn arrives, and the page says it was recorded
        await acknowledged(bo.page, "Tamsin counts the sacks of flour.");
        expect(await unknown.count()).toBe(0);
        expect(await act.getByLabel("What do you do?", { exact: true }).inputValue()).toBe("");
        expect(await recorded("Tamsin counts the sacks of flour.").count()).toBe(1);
      } finally {
        await release();
      }
    }, 90_000);

    it("a player's undo names the turn it takes back; unanswered, sent again, it is recorded once and said done", async () => {
      const release = () => bo.page.evaluate(() => (window as unknown as Holding).releaseSends());
      const position = await actFreely(bo.page, "Tamsin leaves the lantern lit.");
      const undo = bo.page.getByRole("button", { name: `Undo my turn #${position}` });
      await undo.waitFor();
      const take = bo.page.locator(".player-undo");
      const unknown = take.getByRole("alert").filter({ hasText: /^outcome_unknown: / });
      try {
        await bo.page.evaluate(() => (window as unknown as Holding).holdSends());
        await undo.click();
        await unknown.waitFor({ timeout: 30_000 });
        // the forms' plain words, not the SDK's
        expect(await unknown.textContent()).toMatch(
          /may or may not have been recorded.*recorded at most once/,
        );
        expect(await unknown.textContent()).not.toMatch(/seq/);
        await undo.click();
        await release();
        await take
          .getByRole("status")
          .filter({ hasText: `Turn #${position} undone.` })
          .waitFor();
      } finally {
        await release();
      }
      await bo.page.locator(`ol.timeline > li.turn.undone[data-position="${position}"]`).waitFor();
      await bo.page.waitForTimeout(1_000);
      const undos = await bo.page
        .locator("ol.timeline > li.turn[data-kind=undo]")
        .evaluateAll((items) => items.map((item) => item.getAttribute("data-position")));
      expect(undos.filter((at) => Number(at) > position)).toHaveLength(1);
      expect(await unknown.count()).toBe(0);
      // the status line of the act form no longer speaks of the turn undone; nothing is left to undo
      expect(
        await form(bo.page, "Take an action")
          .getByRole("status")
          .filter({ hasText: `Turn #${position}:` })
          .count(),
      ).toBe(0);
      const off = bo.page.getByRole("button", { name: "Undo my turn", exact: true });
      expect(await off.isDisabled()).toBe(true);
    }, 60_000);

    it("a server that stops answering is said so and takes no command, until it answers again", async () => {
      const act = form(bo.page, "Take an action");
      await act.getByRole("radio", { name: "Free text" }).check();
      const status = liveStatus(bo.page);
      try {
        // nothing from the page reaches the server, pings included: as a frozen server, it says nothing
        await bo.page.evaluate(() => (window as unknown as Holding).holdSends(true));
        await status.filter({ hasText: "◌ server not answering…" }).waitFor({ timeout: 25_000 });
        expect(await act.getByRole("button", { name: "Do it" }).isDisabled()).toBe(true);
      } finally {
        await bo.page.evaluate(() => (window as unknown as Holding).releaseSends());
      }
      await isLive(bo.page);
      expect(await act.getByRole("button", { name: "Do it" }).isEnabled()).toBe(true);
    }, 60_000);

    it("a scrubber read the server does not answer is said so after a while, with a way to try again", async () => {
      const isScrub = (url: URL) =>
        url.pathname.endsWith("/scrub") && url.searchParams.get("position") === "3";
      await gm.page.route(isScrub, () => undefined); // never answered
      try {
        await gm.page.getByRole("slider").fill("3");
        await gm.page.getByText("Reading position 3…").waitFor();
        const silent = gm.page
          .getByRole("alert")
          .filter({ hasText: "did not answer the read of position 3" });
        await silent.waitFor({ timeout: 20_000 });
        expect(await gm.page.getByText("Reading position 3…").count()).toBe(0);
        await gm.page.unroute(isScrub);
        await silent.getByRole("button", { name: "Try again" }).click();
        await gm.page.locator(`.scrub-view[data-position="3"]`).waitFor();
        expect(await silent.count()).toBe(0);
      } finally {
        await gm.page.unroute(isScrub);
        await gm.page.getByRole("button", { name: "Head" }).click();
      }
    }, 60_000);

    it("in a universe with a non-Latin name, the export keeps the name; a failed export says so with a code", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        await page.goto(server.url);
        const create = form(page, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill("Ночь над заливом 🌙");
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(page);
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("button", { name: /^Download Markdown/ }).click(),
        ]);
        expect(download.suggestedFilename()).toBe("Ночь-над-заливом.md");

        // the server cannot be reached
        const isExport = (url: URL) => url.pathname.endsWith("/export");
        await page.route(isExport, (route) => route.abort("connectionrefused"));
        const section = page.locator("#export");
        await page.getByRole("button", { name: /^Download JSONL/ }).click();
        const failed = section.getByRole("alert");
        await failed.waitFor();
        expect(await failed.textContent()).toMatch(
          /^unavailable: GET \/api\/universes\/[^ ]+\/export\?format=jsonl: the server could not be reached/,
        );
        expect(await section.getByText("Asking the server for the file…").count()).toBe(0);
      } finally {
        await page.close();
      }
    }, 60_000);

    it("a member who is not the game master, at the console, and a stranger watching, see only the refusal and the way back", async () => {
      const console_ = await alex.context.newPage();
      const stranger = await newPage(browser, 390, 844);
      try {
        await console_.goto(consoleUrl);
        const refused = console_.getByRole("alert").filter({ hasText: /^not_allowed: / });
        // its reads may be refused before the room is: the console shows them until it is
        await console_.getByRole("link", { name: "Back to your universes" }).waitFor();
        expect(await refused.count()).toBe(1);
        expect(await form(console_, "Game master command").count()).toBe(0);
        expect(await console_.locator("section.panel").count()).toBe(0);

        await register(stranger.page, server.url, "Stranger");
        await stranger.page.goto(`${server.url}/u/${gm.universeId}/watch`);
        await stranger.page
          .getByRole("alert")
          .filter({ hasText: /^not_a_member: / })
          .waitFor();
        expect(await stranger.page.locator("section.panel").count()).toBe(0);
        await stranger.page.getByRole("link", { name: "Back to your universes" }).click();
        await stranger.page.getByRole("heading", { name: "Your universes" }).waitFor();
      } finally {
        await console_.close();
        await stranger.context.close();
      }
    }, 60_000);

    it("another player's run, opened by a member or by a stranger, shows the refusal and the way back", async () => {
      const member = await bo.context.newPage();
      member.setDefaultTimeout(20_000);
      const stranger = await newPage(browser);
      try {
        await member.goto(`${server.url}${alexPlay}`);
        await member
          .getByRole("alert")
          .filter({ hasText: /^not_your_character: / })
          .waitFor();
        await member.getByRole("link", { name: "Back to your universes" }).waitFor();
        expect(await member.locator("section.panel").count()).toBe(0);

        await register(stranger.page, server.url, "Passerby");
        await stranger.page.goto(`${server.url}${alexPlay}`);
        await stranger.page
          .getByRole("alert")
          .filter({ hasText: /^unknown_run: / })
          .waitFor();
        expect(await stranger.page.locator("section.panel").count()).toBe(0);
        await stranger.page.getByRole("link", { name: "Back to your universes" }).click();
        await stranger.page.getByRole("heading", { name: "Your universes" }).waitFor();
      } finally {
        await member.close();
        await stranger.context.close();
      }
    }, 60_000);

    it("a run opened under the address of another universe of the player's is refused, not shown with that one's table", async () => {
      const host = await gm.context.newPage();
      host.setDefaultTimeout(20_000);
      const page = await alex.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        await host.goto(server.url);
        const create = form(host, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill("The Other Reach");
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(host);
        const otherId = /\/u\/([^/]+)\/gm/.exec(host.url())![1]!;
        await host.getByRole("button", { name: "Create invite" }).click();
        const link = await host.getByLabel("Invite link", { exact: true }).first().inputValue();
        await page.goto(link);
        await form(page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
        await page.locator('li.universe[data-name="The Other Reach"]').waitFor();

        // Mara's run is of the first universe; the address names the second, whose member Alex is too
        const runId = alexPlay.split("/").pop()!;
        await page.goto(`${server.url}/u/${otherId}/play/${runId}`);
        await page.getByRole("alert").filter({ hasText: "not in the universe of this address" }).waitFor();
        await page.getByRole("link", { name: "Back to your universes" }).waitFor();
        expect(await page.locator("section.panel").count()).toBe(0);
        expect(await page.getByRole("button", { name: /run$/ }).count()).toBe(0);
        // the way to the run's own table
        await page.getByRole("link", { name: "Play it in its own universe" }).click();
        await isLive(page);
        expect(new URL(page.url()).pathname).toBe(alexPlay);
        await page.getByRole("button", { name: "Pause run" }).waitFor();
      } finally {
        await page.close();
        await host.close();
      }
    }, 90_000);

    it("a position in the address past the head, however large, shows the head, in a new universe too", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      try {
        // a universe where nothing happened yet: its head is the start
        await page.goto(server.url);
        const create = form(page, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill("The Empty Reach");
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(page);
        const newConsole = page.url();
        for (const console_ of [consoleUrl, newConsole])
          for (const at of ["99999999999999999999", "2147483648", "2147483647"]) {
            await page.goto(`${console_}?at=${at}`);
            await isLive(page);
            const head = /head #(\d+)/.exec((await liveStatus(page).textContent()) ?? "")?.[1];
            expect(head).toBeDefined();
            await page.locator(`.scrub-view[data-position="${head}"]`).waitFor();
            await page.getByText("Following the head as turns arrive.").waitFor();
            expect(await page.locator("output.scrub-position").textContent()).toBe(head);
            expect(new URL(page.url()).search).toBe("");
            expect(await page.locator("#scrubber").getByRole("alert").count()).toBe(0);
          }
      } finally {
        await page.close();
      }
    }, 60_000);

    it("a player removed from one universe still has their others listed, and their progression", async () => {
      const page = await gm.context.newPage();
      page.setDefaultTimeout(20_000);
      const player = await newPage(browser);
      try {
        await page.goto(server.url);
        const create = form(page, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill("The Far Shoal");
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(page);
        await page.getByRole("button", { name: "Create invite" }).click();
        const link = await page.getByLabel("Invite link", { exact: true }).first().inputValue();
        // a player with a character in one universe, and a member of another
        await register(player.page, link, "Eli");
        const playerId = await playerIdOf(player.page);
        await form(player.page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
        await newCharacter(player.page, "The Far Shoal", "Ilse");
        await player.page.goto(gm.invite);
        await form(player.page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
        await player.page.locator(`li.universe[data-name="${UNIVERSE}"]`).waitFor();

        const row = page.locator("ul.members li").filter({ hasText: playerId });
        await row.getByRole("button", { name: "Remove" }).click();
        await row.getByRole("button", { name: /^Yes, remove/ }).click();
        await row.locator(".badge").filter({ hasText: "removed" }).waitFor();

        await player.page.goto(server.url);
        await player.page
          .locator(`li.universe[data-name="${UNIVERSE}"]`)
          .getByRole("link", { name: "New character" })
          .waitFor();
        await player.page.getByRole("region", { name: "Your progression" }).waitFor();
        expect(await player.page.locator('li.universe[data-name="The Far Shoal"]').count()).toBe(0);
        expect(await player.page.locator("#universes").getByRole("alert").count()).toBe(0);
      } finally {
        await page.close();
        await player.context.close();
      }
    }, 90_000);

    it("long names, and names without a space, do not make a phone's pages scroll sideways", async () => {
      const long = `TheHarbourOfTheLongestNamesEverGivenToAPlaceWhereShipsComeInAtNight${Date.now().toString(36)}`;
      const aspect =
        "The old lighthouse keeper swore on his drowned daughter that no ship would ever again run aground on the Saltmouth reef while he lived";
      const name = "Bartholomew".repeat(9).slice(0, 100);
      const host = await gm.context.newPage();
      host.setDefaultTimeout(20_000);
      const player = await newPage(browser, 390, 844);
      try {
        await host.setViewportSize({ width: 390, height: 844 });
        await host.goto(server.url);
        const create = form(host, "Create a universe");
        await create.getByLabel("Name", { exact: true }).fill(long);
        await create.getByRole("button", { name: "Create universe" }).click();
        await isLive(host);
        const f = form(host, "Game master command");
        await f.getByLabel("Title", { exact: true }).fill("The Reef");
        await f.getByLabel("Situation aspects", { exact: true }).fill(aspect);
        await send(f, "The Reef");
        await host.getByRole("button", { name: "Create invite" }).click();
        const link = await host.getByLabel("Invite link", { exact: true }).first().inputValue();

        await register(player.page, link, "Fen");
        await form(player.page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
        await player.page.locator(`li.universe[data-name="${long}"]`).waitFor();
        expect(await sidewaysOverflow(player.page)).toBe(0);
        await newCharacter(player.page, long, name);
        const act = form(player.page, "Take an action");
        await act.getByRole("button", { name: "Invoke an aspect" }).click();
        await act.getByLabel("Invoke 1 aspect", { exact: true }).waitFor();
        expect(await sidewaysOverflow(player.page)).toBe(0);
        await player.page.goto(`${server.url}/u/${/\/u\/([^/]+)\/gm/.exec(host.url())![1]}/watch`);
        await isLive(player.page);
        await player.page.locator(".presence li").filter({ hasText: name }).waitFor();
        expect(await sidewaysOverflow(player.page)).toBe(0);

        await host.reload();
        await isLive(host);
        await host.locator("#table .presence li").filter({ hasText: name }).waitFor();
        expect(await sidewaysOverflow(host)).toBe(0);
        await host.goto(server.url);
        await host.locator(`li.universe[data-name="${long}"] .dashboard`).waitFor();
        expect(await sidewaysOverflow(host)).toBe(0);
      } finally {
        await host.close();
        await player.context.close();
      }
    }, 120_000);
  });
}
