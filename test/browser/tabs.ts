import type { Browser, BrowserContext, Page } from "playwright-core";
import { form, login, register, shownName } from "./scenario.ts";

/** How long one UI step may take before the test fails (the machine may be busy). */
const STEP_MS = 20_000;
/** How soon a tab must follow what another tab did to the shared login. */
const FOLLOW_MS = 5_000;
/** Longer than the write-back interval the client once had, so a tab writing back would be seen. */
const WRITE_BACK_MS = 6_000;

/** Two tabs of one browser: one context, so one localStorage. */
export async function twoTabs(browser: Browser): Promise<{ context: BrowserContext; one: Page; two: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const one = await context.newPage();
  const two = await context.newPage();
  for (const page of [one, two]) page.setDefaultTimeout(STEP_MS);
  return { context, one, two };
}

/** The login the browser keeps (all its tabs share it), as a page reads it. */
export interface KeptLogin {
  me: { id: string; name: string };
  token: string;
  refreshToken: string;
}

export function keptLogin(page: Page): Promise<KeptLogin | null> {
  return page.evaluate(() => JSON.parse(localStorage.getItem("loom.login") ?? "null") as KeptLogin | null);
}

async function homeOf(page: Page, name: string): Promise<void> {
  await page.getByRole("heading", { name: "Your universes" }).waitFor();
  await page
    .locator("nav.top .who")
    .filter({ hasText: shownName(name) })
    .waitFor();
}

export interface FollowedTabs {
  /** What the second tab held after the first logged out and the old write-back interval passed. */
  keptAfterLogout: KeptLogin | null;
  /** The stored login's player name after the first tab registered another player, and after a wait. */
  keptAfterSwitch: string | null;
  /** The name the second tab shows after a reload of its own, at the end. */
  shownAfterReload: string;
}

/**
 * Two tabs of one browser follow each other's log-ins and log-outs: a log-out in one sends the
 * other to the login screen (and nothing writes the old login back); another player's login in
 * one makes the other that player.
 */
export async function tabsFollowEachOther(browser: Browser, url: string): Promise<FollowedTabs> {
  const { context, one, two } = await twoTabs(browser);
  try {
    await register(one, url, "Tab Alice");
    await two.goto(url);
    await homeOf(two, "Tab Alice");

    // (a) a log-out in one tab logs the other out
    await one.getByRole("button", { name: "Log out" }).click();
    await form(one, "Register").waitFor();
    await form(two, "Register").waitFor({ timeout: FOLLOW_MS });
    await two.waitForTimeout(WRITE_BACK_MS);
    const keptAfterLogout = await keptLogin(two);

    // (b) Alice logs in again in one: the other tab follows as Alice
    await login(one, "Tab Alice");
    await homeOf(two, "Tab Alice");
    // Alice logs out and Bob registers in the first tab: the other tab becomes Bob
    await one.getByRole("button", { name: "Log out" }).click();
    await form(two, "Register").waitFor({ timeout: FOLLOW_MS });
    await register(one, url, "Tab Bob");
    await homeOf(two, "Tab Bob");
    await one.waitForTimeout(WRITE_BACK_MS);
    const keptAfterSwitch = (await keptLogin(one))?.me.name ?? null;
    await two.reload();
    await two.getByRole("heading", { name: "Your universes" }).waitFor();
    const shownAfterReload = (await two.locator("nav.top .who").textContent()) ?? "";
    return { keptAfterLogout, keptAfterSwitch, shownAfterReload };
  } finally {
    await context.close();
  }
}

/** Creates a universe from the home page and waits for its game master console to be live. */
async function createUniverse(page: Page, name: string): Promise<void> {
  const create = form(page, "Create a universe");
  await create.getByLabel("Name", { exact: true }).fill(name);
  await create.getByRole("button", { name: "Create universe" }).click();
  await page.getByRole("heading", { name: `${name} · game master` }).waitFor();
  await page.getByRole("status").filter({ hasText: "● live" }).first().waitFor();
}

export interface RenewedTabs {
  playerId: string;
  /** The stored login after both tabs renewed, twice. */
  kept: KeptLogin | null;
  /** Error lines the home pages showed at the end (none expected). */
  errors: string[];
  /** The universes each tab lists at the end (both made one). */
  listed: [string[], string[]];
}

/**
 * Two tabs of one player whose access token has expired (the server's is a few seconds long)
 * act at once, so both renew it: neither may log the other out. Each creates a universe (a
 * renewal, then another as it joins the room), then both reload at once (two more).
 */
export async function tabsRenewTogether(browser: Browser, url: string, ttlMs: number): Promise<RenewedTabs> {
  const { context, one, two } = await twoTabs(browser);
  try {
    await register(one, url, "Two tabs");
    await two.goto(url);
    await homeOf(two, "Two tabs");
    const playerId = (await keptLogin(one))!.me.id;
    const names = [`First tab's ${Date.now().toString(36)}`, `Second tab's ${Date.now().toString(36)}`];

    await one.waitForTimeout(ttlMs + 500);
    await Promise.all([createUniverse(one, names[0]!), createUniverse(two, names[1]!)]);

    await one.waitForTimeout(ttlMs + 500);
    await Promise.all([one.goto(url), two.goto(url)]);
    const listed = await Promise.all(
      [one, two].map(async (page) => {
        for (const name of names) await page.locator(`li.universe[data-name="${name}"]`).waitFor();
        return page
          .locator("li.universe")
          .evaluateAll((items) => items.map((item) => item.getAttribute("data-name") ?? ""));
      }),
    );
    const errors = [
      ...(await one.getByRole("alert").allTextContents()),
      ...(await two.getByRole("alert").allTextContents()),
    ];
    return { playerId, kept: await keptLogin(one), errors, listed: [listed[0]!, listed[1]!] };
  } finally {
    await context.close();
  }
}

/**
 * A tab whose renewal the server refuses (its refresh token was used elsewhere, which revokes it)
 * goes back to the login screen, and the stored login is removed. Returns what is stored then.
 */
export async function refusedRenewal(
  browser: Browser,
  url: string,
  ttlMs: number,
): Promise<KeptLogin | null> {
  const { context, one } = await twoTabs(browser);
  try {
    await register(one, url, "Refused renewal");
    const kept = (await keptLogin(one))!;
    // someone else renews with the tab's refresh token first, and again with the token that gave:
    // the tab's own use is then a reuse, which no reuse grace honours once its successor was used
    let refreshToken = kept.refreshToken;
    for (let i = 0; i < 2; i++) {
      const stolen = await fetch(`${url}/api/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      });
      if (!stolen.ok) throw new Error(`refresh answered ${stolen.status}`);
      refreshToken = ((await stolen.json()) as { refreshToken: string }).refreshToken;
    }
    await one.waitForTimeout(ttlMs + 500);
    const create = form(one, "Create a universe");
    await create.getByLabel("Name", { exact: true }).fill("Never made");
    await create.getByRole("button", { name: "Create universe" }).click();
    await form(one, "Register").waitFor({ timeout: FOLLOW_MS });
    return await keptLogin(one);
  } finally {
    await context.close();
  }
}
