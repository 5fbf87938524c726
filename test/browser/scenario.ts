import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { expect } from "vitest";

/** How long one UI step may take before the scenario fails (the machine may be busy). */
const STEP_MS = 20_000;

export interface Table {
  gm: Page;
  alex: Page;
  bo: Page;
  spectator: Page;
  universeId: string;
  /** Screens captured, by name, as files in the screenshot folder. */
  shots: string[];
  /** How many roll lines a player's page shows for the GM's hidden roll (0: none). */
  hiddenRollShown: number;
  /** How many told narrations a player's page shows for the GM's hidden roll (0: none). */
  hiddenProseShown: number;
  /** How many "narrating…" a player's page shows for the GM's hidden roll, none of whose prose comes (0: none). */
  hiddenProseAwaited: number;
  /** Turn lines in the JSONL export the GM downloaded (checked: header first, end last, positions 1…N). */
  exportedTurns: number;
  /** The first line of the Markdown story the GM downloaded. */
  storyTitle: string;
}

/** What the pages' content security policy refused, as the browser reported it (none expected). */
export const policyViolations: string[] = [];
/** Markup the browser could not use as written, e.g. a field's `pattern` it cannot compile (none expected). */
export const markupErrors: string[] = [];

export async function newPage(
  browser: Browser,
  width = 1280,
  height = 900,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (message) => {
    if (message.type() === "error" && message.text().includes("Content Security Policy"))
      policyViolations.push(message.text());
    if (message.type() === "error" && message.text().includes("Pattern attribute"))
      markupErrors.push(message.text());
  });
  return { context, page };
}

export function form(page: Page, name: string): Locator {
  return page.getByRole("form", { name });
}

/** Login names are unique per server: a run against a server that outlives it needs its own. */
const run = Date.now().toString(36);

export async function register(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  name = `${name} ${run}`;
  const auth = form(page, "Register");
  await auth.getByLabel("Name", { exact: true }).fill(name);
  await auth.getByLabel("Password", { exact: true }).fill(`${name} has a long password`);
  await auth.getByRole("button", { name: "Register" }).click();
  await page.getByRole("heading", { name: "Your universes" }).waitFor();
}

/** Logs in as a player `register` registered (same name and password), from the login screen. */
export async function login(page: Page, name: string): Promise<void> {
  name = `${name} ${run}`;
  await page.getByRole("tab", { name: "Log in" }).click();
  const auth = form(page, "Log in");
  await auth.getByLabel("Name", { exact: true }).fill(name);
  await auth.getByLabel("Password", { exact: true }).fill(`${name} has a long password`);
  await auth.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Your universes" }).waitFor();
}

/** The name a player `register`ed shows in the page's top bar. */
export function shownName(name: string): string {
  return `${name} ${run}`;
}

/** A turn on a page's timeline (newest first), by what its events say. */
export function turnSaying(page: Page, text: string | RegExp): Locator {
  return page.locator("li.turn").filter({ hasText: text }).first();
}

async function gmCommand(gm: Page, command: string, fill: (f: Locator) => Promise<void>): Promise<string> {
  const f = form(gm, "Game master command");
  await f.getByLabel("Command", { exact: true }).selectOption(command);
  await fill(f);
  return submitAndWait(f, f.getByRole("button", { name: "Send command" }));
}

/** Submits a form and waits for its status line to name a turn it did not name before. */
async function submitAndWait(f: Locator, button: Locator): Promise<string> {
  const status = f.getByRole("status");
  const before = (await status.count()) > 0 ? await status.textContent() : null;
  await button.click();
  const now = status.filter({ hasText: /^Turn #\d+/ });
  await (before ? now.filter({ hasNotText: before }) : now).waitFor();
  return (await status.textContent()) ?? "";
}

async function createCharacter(page: Page, name: string, skills: Array<[string, string]>): Promise<void> {
  await page.getByRole("link", { name: "New character" }).first().click();
  const sheet = form(page, "Character sheet");
  await sheet.getByLabel("Name", { exact: true }).fill(name);
  await sheet.getByLabel("High concept", { exact: true }).fill(`${name}, smuggler of the salt roads`);
  await sheet.getByLabel("Trouble", { exact: true }).fill(`${name} owes the Salt Guild`);
  await sheet.getByLabel("Other aspects", { exact: true }).fill("Never forgets a road");
  for (const [index, [skill, rating]] of skills.entries()) {
    if (index >= 3) await sheet.getByRole("button", { name: "Add skill" }).click();
    await sheet.getByLabel(`Skill ${index + 1} name`, { exact: true }).fill(skill);
    await sheet.getByLabel(`Skill ${index + 1} rating`, { exact: true }).selectOption(rating);
  }
  await sheet.getByRole("button", { name: /Create character/ }).click();
  await page.getByRole("heading", { name: "Your turn" }).waitFor();
  await page.getByRole("status").filter({ hasText: "● live" }).first().waitFor();
}

/** Takes a Fate action from the player's form and waits for its own acknowledgement. */
async function act(
  page: Page,
  kind: string,
  options: {
    skill?: string;
    description?: string;
    target?: string;
    npc?: string;
    aspect?: string;
    invoke?: string;
    text?: string;
  },
): Promise<string> {
  const f = form(page, "Take an action");
  await f.getByRole("radio", { name: kind }).check();
  if (options.text) await f.getByLabel("What do you do?", { exact: true }).fill(options.text);
  if (options.skill) await f.getByLabel("Skill", { exact: true }).fill(options.skill);
  if (options.description) await f.getByLabel("Description", { exact: true }).fill(options.description);
  if (options.target) await f.getByLabel("Target", { exact: true }).selectOption({ label: options.target });
  if (options.npc) await f.getByLabel("NPC id", { exact: true }).fill(options.npc);
  if (options.aspect) await f.getByLabel("Aspect to create", { exact: true }).fill(options.aspect);
  if (options.invoke) {
    await f.getByRole("button", { name: "Invoke an aspect" }).click();
    await f.getByLabel("Invoke 1 aspect", { exact: true }).selectOption({ label: options.invoke });
  }
  return submitAndWait(f, f.getByRole("button", { name: /^(Roll|Do it)$/ }));
}

function positionOf(status: string): number {
  return Number(/^Turn #(\d+)/.exec(status)?.[1]);
}

/**
 * A game master and two players in their own browser contexts, and a spectator: the GM creates
 * a universe and invites, the players register, accept, create characters and join, and play a
 * scene with every action kind; each sees the other's turns and narration live; the GM scrubs
 * back, undoes and branches. Screenshots of the main screens go to `shots`.
 */
export async function playTable(browser: Browser, url: string, shots: string): Promise<Table> {
  const taken: string[] = [];
  let hiddenRollShown = -1;
  let hiddenProseShown = -1;
  let hiddenProseAwaited = -1;
  let exportedTurns = 0;
  let storyTitle = "";
  const shot = async (page: Page, name: string, fullPage = false) => {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage });
    taken.push(path);
  };
  const { page: gm } = await newPage(browser);
  const { page: alex } = await newPage(browser);
  const { page: bo } = await newPage(browser, 390, 844); // a phone
  const { page: spectator } = await newPage(browser);

  // the game master: register, create a universe, set the scene, add an NPC, invite
  await gm.goto(url);
  await form(gm, "Register").waitFor();
  await shot(gm, "register");
  await register(gm, url, "Morgan");
  const create = form(gm, "Create a universe");
  await create.getByLabel("Name", { exact: true }).fill("The Salt Marches");
  await create.getByLabel("Premise", { exact: true }).fill("A drowned coast of smugglers and tide-priests");
  await create.getByRole("button", { name: "Create universe" }).click();
  await gm.getByRole("heading", { name: "The Salt Marches · game master" }).waitFor();
  await gm.getByRole("status").filter({ hasText: "● live" }).first().waitFor();
  const universeId = /\/u\/([^/]+)\/gm/.exec(gm.url())![1]!;
  await gmCommand(gm, "scene", async (f) => {
    await f.getByLabel("Title", { exact: true }).fill("The Drowned Quay");
    await f.getByLabel("Location", { exact: true }).fill("Saltmouth docks");
    await f.getByLabel("Situation aspects", { exact: true }).fill("Thick Fog\nSlippery Planks");
  });
  await gmCommand(gm, "npc", async (f) => {
    await f.getByLabel("Id", { exact: true }).fill("vell");
    await f.getByLabel("Name", { exact: true }).fill("Vell the Smuggler");
    await f.getByLabel("Attitude", { exact: true }).selectOption("hostile");
  });
  await gm.getByRole("button", { name: "Create invite" }).click();
  const inviteLink = await gm.getByLabel("Invite link", { exact: true }).first().inputValue();

  // two players and a spectator accept the invite; the players create characters and join
  for (const [page, name] of [
    [alex, "Alex"],
    [bo, "Bo"],
    [spectator, "Sam"],
  ] as const) {
    await page.goto(inviteLink);
    await register(page, inviteLink, name);
    await form(page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
    await page.locator('li.universe[data-name="The Salt Marches"]').waitFor();
  }
  await shot(alex, "universes");
  await alex.getByRole("link", { name: "New character" }).first().click();
  await form(alex, "Character sheet").waitFor();
  await alex.goBack();
  await createCharacterFromList(
    alex,
    "Mara",
    [
      ["Athletics", "3"],
      ["Fight", "2"],
      ["Notice", "2"],
      ["Will", "1"],
    ],
    shot,
  );
  await createCharacter(bo, "Tamsin", [
    ["Stealth", "3"],
    ["Provoke", "2"],
    ["Athletics", "1"],
  ]);
  await spectator.goto(`${url}/u/${universeId}/watch`);
  await spectator.getByRole("status").filter({ hasText: "● live" }).first().waitFor();
  // Mara's high concept begins with her name: she is named once
  await spectator.locator("ul.presence li").filter({ hasText: "Mara, disgraced cartographer" }).waitFor();
  expect(await spectator.locator("ul.presence li").filter({ hasText: "Mara" }).textContent()).toMatch(
    /^[●○] Mara, disgraced cartographer$/,
  );

  // a scene with every action kind, aspect invokes and fate points
  const overcome = await act(alex, "Overcome", {
    skill: "Athletics",
    description: "leap the gap in the quay",
    invoke: "Never forgets a road",
  });
  const advantage = await act(bo, "Create an advantage", {
    skill: "Stealth",
    description: "melt into the fog",
    aspect: "Hidden in the Fog",
  });
  const attack = await act(alex, "Attack", {
    skill: "Fight",
    target: "an NPC (by id)…",
    npc: "vell",
    description: "a gaff hook to the smuggler",
  });
  const defend = await act(bo, "Defend", { skill: "Athletics", description: "duck behind the crates" });
  const free = await act(alex, "Free text", { text: "Mara whistles the signal to the boat." });

  // the invoke cost Mara a fate point; the GM compels her trouble (accepted: one back), starts a
  // quest and awards Tamsin a milestone
  const sheet = alex.locator("#sheet .fate-points");
  await sheet.filter({ hasText: /^2$/ }).waitFor();
  await gmCommand(gm, "compel", async (f) => {
    await f.getByLabel("Character", { exact: true }).selectOption({ label: "Mara" });
    await f.getByLabel("Aspect compelled", { exact: true }).fill("Mara owes the Salt Guild a map");
    await f.getByLabel("Complication", { exact: true }).fill("a Guild clerk recognises her");
  });
  await sheet.filter({ hasText: /^3$/ }).waitFor();
  await gmCommand(gm, "quest", async (f) => {
    await f.getByLabel("Id", { exact: true }).fill("drowned-map");
    await f.getByLabel("Title", { exact: true }).fill("Find the drowned map");
  });
  await gmCommand(gm, "milestone", async (f) => {
    await f.getByLabel("Character", { exact: true }).selectOption({ label: "Tamsin" });
    await f.getByLabel("Note", { exact: true }).fill("slipped past the Guild");
  });

  // each sees the other's turns and their narration, live
  for (const [page, status] of [
    [bo, overcome],
    [alex, advantage],
    [bo, attack],
    [alex, defend],
    [bo, free],
    [spectator, free],
    [gm, free],
  ] as const) {
    const item = page.locator(`li.turn[data-position="${positionOf(status)}"]`);
    await item.waitFor();
    await item.locator("p.narration.done").waitFor();
  }
  // each roll's sentence reads as English: a noun phrase is what is overcome, a verb phrase is
  // quoted after the action, never "defends against duck behind the crates"
  const rollLine = (status: string) =>
    bo
      .locator(`li.turn[data-position="${positionOf(status)}"] ul.events li`)
      .filter({ hasText: / with \w+ \(/ })
      .textContent();
  expect(await rollLine(overcome)).toMatch(
    /^Mara tries to overcome \("leap the gap in the quay"\) with Athletics /,
  );
  expect(await rollLine(defend)).toMatch(/^Tamsin defends \("duck behind the crates"\) with Athletics /);
  expect(await rollLine(attack)).toMatch(
    /^Mara attacks Vell\b.* \("a gaff hook to the smuggler"\) with Fight /,
  );
  // the run's record follows the table: Tamsin's two turns, in her one session so far
  await bo
    .locator("#run")
    .filter({ hasText: /· 2 turns · 1 session ·/ })
    .waitFor();
  await shot(alex, "player");
  await shot(bo, "player-phone", true);
  await shot(spectator, "spectator");

  // the game master scrubs back, undoes the latest turn, rolls in secret, then branches
  const scrubTo = positionOf(advantage);
  await gm.getByRole("slider").fill(String(scrubTo));
  await gm.locator(`.scrub-view[data-position="${scrubTo}"]`).waitFor();
  // the quest and the scene are bookmarks
  await gm
    .getByLabel("Bookmarks")
    .locator("option", { hasText: "quest start: Find the drowned map" })
    .waitFor({ state: "attached" });
  await gm
    .getByLabel("Bookmarks")
    .locator("option", { hasText: "scene: The Drowned Quay" })
    .waitFor({ state: "attached" });
  await shot(gm, "gm-console", true);

  // the slider answers the keyboard
  await gm.getByRole("slider").press("ArrowLeft");
  await gm.locator(`.scrub-view[data-position="${scrubTo - 1}"]`).waitFor();
  await gm.getByRole("slider").press("ArrowRight");
  await gm.locator(`.scrub-view[data-position="${scrubTo}"]`).waitFor();

  // full-text search, a retcon from the simple form, a snapshot
  const filters = form(gm, "Filter the timeline");
  await filters.getByLabel("Search", { exact: true }).fill("whistles");
  await filters.getByRole("button", { name: "Filter" }).click();
  await gm
    .getByRole("list", { name: "Search results" })
    .locator("li.turn")
    .filter({ hasText: "whistles the signal" })
    .waitFor();
  await filters.getByRole("button", { name: "Back to live" }).click();
  const retcon = form(gm, "Retcon");
  await retcon.getByLabel("Note", { exact: true }).fill("the fog came in thicker than anyone told");
  await retcon.getByLabel("Set (JSON Pointer)", { exact: true }).fill("/scene/summary");
  await retcon.getByLabel("To", { exact: true }).fill("Fog rolls over the quay");
  await retcon.getByRole("button", { name: "Retcon" }).click();
  await retcon
    .getByRole("status")
    .filter({ hasText: /^Retcon recorded as turn #\d+/ })
    .waitFor();
  await gm.getByRole("button", { name: "Snapshot", exact: true }).click();
  await gm
    .locator(".tool-result")
    .filter({ hasText: /^Snapshot taken at #\d+/ })
    .waitFor();
  await spectator.locator("li.turn").filter({ hasText: "the fog came in thicker" }).first().waitFor();

  const latest = positionOf(
    (await retcon.getByRole("status").textContent())!.replace("Retcon recorded as turn", "Turn"),
  );
  await gm.getByRole("button", { name: "Undo latest turn" }).click();
  await gm
    .locator(".tool-result")
    .filter({ hasText: `Turn #${latest} undone` })
    .waitFor();
  for (const page of [alex, bo, spectator])
    await page.locator(`li.turn.undone[data-position="${latest}"]`).waitFor();

  const hidden = form(gm, "Take an action");
  await hidden.getByLabel("Skill", { exact: true }).fill("Notice");
  await hidden.getByLabel(/Hidden roll/).check();
  const hiddenPosition = positionOf(
    await submitAndWait(hidden, hidden.getByRole("button", { name: "Roll" })),
  );
  // players learn that it happened, not what was rolled
  const seen = alex.locator(`li.turn[data-position="${hiddenPosition}"]`);
  await seen.waitFor();
  hiddenRollShown = await seen.locator(".roll").count();
  // the GM reads the roll's prose, which came inside the turn; the player's page never has it
  await gm.locator(`li.turn[data-position="${hiddenPosition}"] p.narration.done`).waitFor();
  hiddenProseShown = await seen.locator("p.narration.done").count();
  hiddenProseAwaited = await seen.locator("p.narration.pending").count();

  // Mara's player looks back: the story as it stood at the scene's start, read-only; she names a
  // save point at her latest turn and finds it among her bookmarks
  const lookBack = alex.getByRole("region", { name: "Look back" });
  await lookBack.getByRole("slider").fill(String(scrubTo));
  await lookBack.locator(`.look-back-view[data-position="${scrubTo}"]`).waitFor();
  const saving = form(alex, "Name a save point");
  await saving.getByRole("textbox").fill("before the fog");
  await saving.getByRole("button", { name: "Name save point" }).click();
  await saving
    .getByRole("status")
    .filter({ hasText: /^Saved "before the fog" at #\d+\.$/ })
    .waitFor();
  await lookBack
    .getByLabel("Bookmarks")
    .locator("option", { hasText: "save point: before the fog" })
    .waitFor({ state: "attached" });
  await shot(alex, "player-look-back", true);
  // and forgets it: it leaves her list and her bookmarks
  const saved = lookBack.getByRole("list", { name: "Your save points" });
  await saved.getByRole("button", { name: "Forget before the fog" }).click();
  await saved.waitFor({ state: "detached" });
  await lookBack
    .getByLabel("Bookmarks")
    .locator("option", { hasText: "save point: before the fog" })
    .waitFor({ state: "detached" });

  // the game master's snapshot list scrubs to the one just taken
  await gm.getByRole("button", { name: "List the snapshots" }).click();
  const snapshot = gm.getByRole("list", { name: "Snapshots" }).getByRole("button").first();
  const snapshotAt = Number((await snapshot.textContent())!.replace("#", ""));
  await snapshot.click();
  await gm.locator(`.scrub-view[data-position="${snapshotAt}"]`).waitFor();
  await gm.getByRole("slider").fill(String(scrubTo));
  await gm.locator(`.scrub-view[data-position="${scrubTo}"]`).waitFor();

  // the whole timeline as the server's export files, streamed with progress
  const [jsonl] = await Promise.all([
    gm.waitForEvent("download"),
    gm.getByRole("button", { name: /^Download JSONL/ }).click(),
  ]);
  const exported = join(shots, "timeline.jsonl");
  await jsonl.saveAs(exported);
  const lines = readFileSync(exported, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string; format?: string; position?: number; turns?: number });
  const header = lines[0]!;
  const end = lines[lines.length - 1]!;
  if (header.type !== "header" || header.format !== "loom-universe")
    throw new Error(`the export starts with ${JSON.stringify(header).slice(0, 200)}`);
  const turnLines = lines.filter((line) => line.type === "turn");
  if (end.type !== "end" || end.turns !== turnLines.length)
    throw new Error(`the export ends with ${JSON.stringify(end)} after ${turnLines.length} turns`);
  if (turnLines.some((line, index) => line.position !== index + 1))
    throw new Error("the export's turns are not positions 1, 2, 3…");
  exportedTurns = turnLines.length;
  await gm
    .getByRole("status")
    .filter({ hasText: `${exportedTurns} turns exported` })
    .waitFor();
  const [markdown] = await Promise.all([
    gm.waitForEvent("download"),
    gm.getByRole("button", { name: /^Download Markdown/ }).click(),
  ]);
  const story = join(shots, "story.md");
  await markdown.saveAs(story);
  storyTitle = readFileSync(story, "utf8").split("\n")[0]!;

  // Tamsin's player ends her run in victory and finds it in her progression; a second tab of
  // hers on the run follows: it shows the run ended and offers nothing more to do with it
  const otherTab = await bo.context().newPage();
  await otherTab.goto(bo.url());
  await otherTab.locator("header.bar [role=status]").filter({ hasText: "● live" }).waitFor();
  await otherTab.getByRole("button", { name: "Pause run" }).waitFor();
  const ending = form(bo, "Complete the run");
  // "other…" with no reason written is said before anything is sent
  await ending.getByLabel("Reason", { exact: true }).selectOption("other");
  await ending.getByRole("button", { name: "Complete run" }).click();
  await ending.getByRole("alert").filter({ hasText: "Say the other reason" }).waitFor();
  expect(await ending.getByRole("group", { name: "Complete run" }).count()).toBe(0);
  await ending.getByLabel("Reason", { exact: true }).selectOption("victory");
  // it asks first: Escape leaves the run as it was
  await ending.getByRole("button", { name: "Complete run" }).click();
  const asking = ending.getByRole("group", { name: "Complete run" });
  expect(await asking.textContent()).toMatch(/\(victory\)\? You cannot take it back/);
  await bo.keyboard.press("Escape");
  await ending.getByRole("button", { name: "Complete run" }).click();
  await asking.getByRole("button", { name: "Yes, complete the run" }).click();
  await bo.locator(".run-state").filter({ hasText: "completed" }).waitFor();
  await otherTab
    .locator(".run-state")
    .filter({ hasText: /^(completed|ended)$/ })
    .waitFor();
  for (const name of ["Pause run", "Complete run", "Resume run"])
    expect(await otherTab.getByRole("button", { name }).count()).toBe(0);
  await otherTab.close();
  await bo.getByRole("link", { name: "See your progression and unlocks" }).click();
  await bo.locator("#progression dd").first().filter({ hasText: /^1$/ }).waitFor();
  // and what her next runs lead to (Tamsin played 2 turns of it)
  await bo
    .getByRole("list", { name: "Unlocks ahead" })
    .getByText("advanced narratives: 2 completed runs (1 more)", { exact: true })
    .waitFor();
  await shot(bo, "progression-phone", true);

  await form(gm, "Branch")
    .getByRole("button", { name: `Branch at #${scrubTo}` })
    .click();
  await gm.getByRole("heading", { name: `The Salt Marches (branch at ${scrubTo}) · game master` }).waitFor();
  await gm
    .getByRole("status")
    .filter({ hasText: `head #${scrubTo}` })
    .first()
    .waitFor();

  // the GM's list of universes: the parent and its branch, each with its dashboard line
  await gm.getByRole("link", { name: "← Universes" }).click();
  await gm
    .locator(`li.universe[data-name="The Salt Marches"] .dashboard`)
    .filter({ hasText: "● Mara" })
    .waitFor();
  await shot(gm, "gm-universes");

  return {
    gm,
    alex,
    bo,
    spectator,
    universeId,
    shots: taken,
    hiddenRollShown,
    hiddenProseShown,
    hiddenProseAwaited,
    exportedTurns,
    storyTitle,
  };
}

/** Opens the character form from the universe list, screenshots it filled in, then creates. */
async function createCharacterFromList(
  page: Page,
  name: string,
  skills: Array<[string, string]>,
  shot: (page: Page, name: string, fullPage?: boolean) => Promise<void>,
): Promise<void> {
  await page.getByRole("link", { name: "New character" }).first().click();
  const sheet = form(page, "Character sheet");
  await sheet.getByLabel("Name", { exact: true }).fill(name);
  await sheet.getByLabel("High concept", { exact: true }).fill(`${name}, disgraced cartographer`);
  await sheet.getByLabel("Trouble", { exact: true }).fill(`${name} owes the Salt Guild a map`);
  await sheet.getByLabel("Other aspects", { exact: true }).fill("Never forgets a road");
  for (const [index, [skill, rating]] of skills.entries()) {
    if (index >= 3) await sheet.getByRole("button", { name: "Add skill" }).click();
    await sheet.getByLabel(`Skill ${index + 1} name`, { exact: true }).fill(skill);
    await sheet.getByLabel(`Skill ${index + 1} rating`, { exact: true }).selectOption(rating);
  }
  await shot(page, "character-sheet", true);
  await sheet.getByRole("button", { name: /Create character/ }).click();
  await page.getByRole("heading", { name: "Your turn" }).waitFor();
  await page.getByRole("status").filter({ hasText: "● live" }).first().waitFor();
}
