import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { form, newPage, register } from "./scenario.ts";

/** Someone at the table: their browser (its storage keeps their login) and the page they look at. */
export interface Person {
  context: BrowserContext;
  page: Page;
}

/** The status line in a live page's header: "● live", "◌ reconnecting…", "○ …". */
export function liveStatus(page: Page): Locator {
  return page.locator("header.bar [role=status]");
}

/** Waits until a live page says it is live. */
export async function isLive(page: Page): Promise<void> {
  await liveStatus(page).filter({ hasText: "● live" }).waitFor();
}

/** The turns of a page's live timeline (oldest first): "#position kind status". */
export function shownTurns(page: Page): Promise<string[]> {
  return page
    .locator("ol.timeline > li.turn")
    .evaluateAll((items) =>
      items
        .map(
          (item) =>
            `#${item.getAttribute("data-position")} ${item.getAttribute("data-kind")}${item.classList.contains("undone") ? " undone" : ""}`,
        )
        .reverse(),
    );
}

/** The prose each turn of a page's timeline shows once told, by position. */
export function toldProse(page: Page): Promise<Record<string, string>> {
  return page.locator("ol.timeline > li.turn").evaluateAll((items) =>
    Object.fromEntries(
      items.flatMap((item) => {
        const told = item.querySelector("p.narration.done");
        return told ? [[item.getAttribute("data-position") ?? "", told.textContent ?? ""]] : [];
      }),
    ),
  );
}

/** A turn on a page's live timeline, by position. */
export function turnAt(page: Page, position: number): Locator {
  return page.locator(`ol.timeline > li.turn[data-position="${position}"]`);
}

/** How far a page is wider than its viewport (0: nothing overflows sideways). */
export function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** The game master: registers, creates a universe, and makes an invite link for the table. */
export async function gameMaster(
  browser: Browser,
  url: string,
  name: string,
  universe: string,
): Promise<Person & { universeId: string; invite: string }> {
  const { context, page } = await newPage(browser);
  await register(page, url, name);
  const create = form(page, "Create a universe");
  await create.getByLabel("Name", { exact: true }).fill(universe);
  await create.getByRole("button", { name: "Create universe" }).click();
  await page.getByRole("heading", { name: `${universe} · game master` }).waitFor();
  await isLive(page);
  const universeId = /\/u\/([^/]+)\/gm/.exec(page.url())![1]!;
  await page.getByRole("button", { name: "Create invite" }).click();
  const invite = await page.getByLabel("Invite link", { exact: true }).first().inputValue();
  return { context, page, universeId, invite };
}

/** Someone who registers through an invite link and accepts it; their page is on their universes. */
export async function invited(
  browser: Browser,
  invite: string,
  name: string,
  universe: string,
  width = 1280,
): Promise<Person> {
  const { context, page } = await newPage(browser, width, 900);
  await register(page, invite, name);
  await form(page, "Accept an invite").getByRole("button", { name: "Accept invite" }).click();
  await page.locator(`li.universe[data-name="${universe}"]`).waitFor();
  return { context, page };
}

/** From the universe list: a new character with one skill, then the play page, live. */
export async function newCharacter(page: Page, universe: string, name: string): Promise<void> {
  await page
    .locator(`li.universe[data-name="${universe}"]`)
    .getByRole("link", { name: "New character" })
    .click();
  const sheet = form(page, "Character sheet");
  await sheet.getByLabel("Name", { exact: true }).fill(name);
  await sheet.getByLabel("High concept", { exact: true }).fill(`${name}, salt-road smuggler`);
  await sheet.getByLabel("Trouble", { exact: true }).fill(`${name} owes the Salt Guild`);
  await sheet.getByLabel("Skill 1 name", { exact: true }).fill("Athletics");
  await sheet.getByRole("button", { name: /Create character/ }).click();
  await page.getByRole("heading", { name: "Your turn" }).waitFor();
  await isLive(page);
}

/** The number in the act form's status line ("Turn #12: …"). */
function positionIn(status: string): number {
  return Number(/^Turn #(\d+)/.exec(status)?.[1]);
}

/** Says what the character does (free text, no roll) and waits for the turn it became. */
export async function actFreely(page: Page, text: string): Promise<number> {
  const act = form(page, "Take an action");
  await act.getByRole("radio", { name: "Free text" }).check();
  await act.getByLabel("What do you do?", { exact: true }).fill(text);
  await act.getByRole("button", { name: "Do it" }).click();
  return positionIn(await acknowledged(page, text));
}

/** The act form's status line once it names the turn `text` became. */
export async function acknowledged(page: Page, text: string): Promise<string> {
  const status = form(page, "Take an action")
    .getByRole("status")
    .filter({ hasText: /^Turn #\d+/ })
    .filter({ hasText: text.slice(0, 60) });
  await status.waitFor();
  return (await status.textContent()) ?? "";
}

/** The game master opens a new scene from the console and waits for its turn. */
export async function openScene(gm: Page, title: string, location: string): Promise<void> {
  const f = form(gm, "Game master command");
  await f.getByLabel("Command", { exact: true }).selectOption("scene");
  await f.getByLabel("Title", { exact: true }).fill(title);
  await f.getByLabel("Location", { exact: true }).fill(location);
  await f.getByRole("button", { name: "Send command" }).click();
  await f.getByRole("status").filter({ hasText: title }).waitFor();
}

/** The access token a page keeps (the API's reads on the player's behalf). */
export function tokenOf(page: Page): Promise<string> {
  return page.evaluate(
    () => (JSON.parse(localStorage.getItem("loom.login") ?? "{}") as { token?: string }).token ?? "",
  );
}
