import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { WEB_DIST } from "../server/src/web/build.ts";
import { launchChromium, readyForBrowser } from "./browser/chromium.ts";
import { modes, startServer, tempDir } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";
import { markupErrors, newPage, playTable, policyViolations, register } from "./browser/scenario.ts";
import { storePlayedUniverse } from "../server/src/persist/testing/played.ts";
import { refusedRenewal, tabsFollowEachOther, tabsRenewTogether } from "./browser/tabs.ts";

/**
 * The web client in a real browser against the real server serving web/dist: a game master and
 * two players in three browser contexts, and a spectator, play a scene (test/browser/scenario.ts).
 * Screenshots of the main screens are written to LOOM_SCREENSHOTS or a temporary folder.
 */
describe("the web client in a browser", () => {
  let server: LoomServer & { url: string };
  let browser: Browser;
  const shots = process.env.LOOM_SCREENSHOTS ?? tempDir("loom-screens-");

  beforeAll(async () => {
    await readyForBrowser();
    mkdirSync(shots, { recursive: true });
    server = await startServer(modes()[0]!, { port: 2650 });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.shutdown();
  });

  it("serves the client at / with cache headers, and index.html for its own paths", async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${server.url}${asset}`);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const deep = await fetch(`${server.url}/u/some-universe/gm`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await fetch(`${server.url}/assets/missing-0000.js`)).status).toBe(404);
    const api = await fetch(`${server.url}/api/no-such-route`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: "not_found", message: "no such endpoint" } });
    expect(existsSync(join(WEB_DIST, "index.html"))).toBe(true);
    // the pages run only their own scripts, are framed by no other site, and no answer is sniffed
    for (const page of [index, deep]) {
      const policy = page.headers.get("content-security-policy") ?? "";
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
    }
    for (const answer of [index, script, api]) {
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("x-frame-options")).toBe("DENY");
      expect(answer.headers.get("x-powered-by")).toBeNull();
    }
  });

  it("a link whose address is no percent-encoding opens its screen, not a blank page", async () => {
    const { context, page } = await newPage(browser);
    try {
      const thrown: string[] = [];
      page.on("pageerror", (error) => thrown.push(error.message));
      await register(page, server.url, "Linkfollower");
      await page.goto(`${server.url}/invite/%E0%A4%A`);
      await page.getByRole("heading", { name: "Your universes" }).waitFor();
      await page.goto(`${server.url}/u/%E0/gm`);
      await page.getByText("unknown_universe: no universe %E0").first().waitFor();
      expect(thrown).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("a game master, two players and a spectator play a scene, scrub, undo and branch", async () => {
    const table = await playTable(browser, server.url, shots);
    // every page worked within its content security policy
    expect(policyViolations).toEqual([]);
    // the id fields' patterns compile (a browser that cannot compile one checks nothing)
    expect(markupErrors).toEqual([]);
    // a player's page shows that the hidden roll happened, not its dice, nor waits for its prose
    expect(table.hiddenRollShown).toBe(0);
    expect(table.hiddenProseShown).toBe(0);
    expect(table.hiddenProseAwaited).toBe(0);
    // the export holds every turn up to the head before the branch (the session starts included)
    expect(table.exportedTurns).toBeGreaterThanOrEqual(15);
    expect(table.storyTitle).toBe("# The Salt Marches");
    expect(table.shots.length).toBeGreaterThanOrEqual(7);
    for (const shot of table.shots) expect(existsSync(shot)).toBe(true);
    // the branch the GM made shares the scrubbed positions with its parent
    const { turnStore } = server.services;
    const universes = await turnStore.listUniverses({ limit: 10 });
    const branch = universes.find((universe) => universe.parentId === table.universeId);
    expect(branch?.branchPosition).toBeGreaterThan(0);
  }, 150_000);

  it("the scrubber follows a drag through a 3,000-turn universe: each resting position's state and diff, never an older answer", async () => {
    const { context, page } = await newPage(browser);
    await register(page, server.url, "Scrubbing GM");
    const gmId = await page.evaluate(
      () => (JSON.parse(localStorage.getItem("loom.login") ?? "{}") as { me: { id: string } }).me.id,
    );
    const { turnStore } = server.services;
    const universeId = `scrub-${Date.now().toString(36)}`;
    await storePlayedUniverse(turnStore, { id: universeId, createdBy: gmId, turns: 3_000, seed: 7 });
    await page.goto(`${server.url}/u/${universeId}/gm`);
    const slider = page.getByRole("slider");
    await page.getByText("of 3000").waitFor();

    /** What the page must show at a position, read from the store, not from the page's server route. */
    const expectShown = async (position: number) => {
      const view = page.locator(`.scrub-view[data-position="${position}"]`);
      await view.waitFor();
      expect(await page.locator("output.scrub-position").textContent()).toBe(String(position));
      const [turn, at] = await Promise.all([
        turnStore.getTurn(universeId, position),
        turnStore.stateAt(universeId, position),
      ]);
      await expect
        .poll(() => view.getByRole("heading", { level: 3 }).nth(1).textContent())
        .toBe(`Turn #${position}: ${turn!.kind.replace("_", " ")}`);
      const deltas = view.locator("ul.deltas li");
      if (turn!.deltas.length === 0) expect(await deltas.textContent()).toBe("none");
      else {
        expect(await deltas.count()).toBe(Math.min(100, turn!.deltas.length));
        const first = turn!.deltas[0]!;
        expect(await deltas.first().textContent()).toContain(`#${position} ${first.op} ${first.path}`);
      }
      expect(await view.locator(".scrub-scene").textContent()).toContain(at.state.scene.title || "—");
    };

    await slider.fill("1500");
    await expectShown(1500);
    // a drag: many positions in quick succession; only where it rests is shown, and stays shown
    for (const position of [40, 2_950, 7, 2_020, 1_234]) await slider.fill(String(position));
    await expectShown(1234);
    await page.waitForTimeout(600);
    await expectShown(1234);
    // the keyboard moves a turn at a time, and the diff follows
    await slider.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    await expectShown(1239);
    await page.getByRole("button", { name: "One turn back" }).click();
    await expectShown(1238);
    // the whole state on request, with the checksum the store gives it
    await page.getByRole("button", { name: "Whole state at #1238 (JSON, with checksum)" }).click();
    const full = await turnStore.stateAt(universeId, 1238);
    await page
      .locator(".full-state code")
      .filter({ hasText: full.checksum.slice(0, 16) })
      .waitFor();
    await context.close();
  }, 90_000);

  it("two tabs of one browser follow each other's log-outs and log-ins", async () => {
    const tabs = await tabsFollowEachOther(browser, server.url);
    // the tab left open did not write the logged-out login back
    expect(tabs.keptAfterLogout).toBeNull();
    // after another player registered in one tab, the other became them, and nothing wrote the first back
    expect(tabs.keptAfterSwitch).toMatch(/^Tab Bob /);
    expect(tabs.shownAfterReload).toMatch(/^Tab Bob /);
  }, 90_000);
});

/**
 * Tabs of one player renewing their access token at once, against a server whose tokens last a
 * few seconds. Its own server, after the describe above has shut its down (one at a time).
 */
describe("the web client's tabs renew tokens together", () => {
  const ttlSeconds = 3;
  let server: LoomServer & { url: string };
  let browser: Browser;

  beforeAll(async () => {
    await readyForBrowser();
    server = await startServer(modes()[0]!, { port: 2646, accessTokenTtlSeconds: ttlSeconds });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.shutdown();
  });

  it("two tabs of one player renew an expired token at once without logging each other out", async () => {
    const tabs = await tabsRenewTogether(browser, server.url, ttlSeconds * 1000);
    expect(tabs.errors).toEqual([]);
    for (const listed of tabs.listed) expect(listed).toHaveLength(2);
    // the stored login is still the player's, with a pair that works (the reloads used it)
    expect(tabs.kept?.me.id).toBe(tabs.playerId);
    expect(tabs.kept?.refreshToken).toBeTruthy();
  }, 90_000);

  it("a tab whose renewal is refused goes back to the login screen and forgets the login", async () => {
    expect(await refusedRenewal(browser, server.url, ttlSeconds * 1000)).toBeNull();
  }, 60_000);
});
