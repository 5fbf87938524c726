// Runs the browser scenario against a server already running: npx tsx test/browser/debug.ts URL
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { playTable } from "./scenario.ts";

const url = process.argv[2] ?? "http://127.0.0.1:2567";
const shots = mkdtempSync(join(tmpdir(), "loom-shots-"));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const started = Date.now();
  const table = await playTable(browser, url, shots);
  console.log(`ok in ${Date.now() - started} ms; screenshots in ${shots}:`, table.shots.length);
} catch (error) {
  console.error(error);
  const contexts = browser.contexts();
  for (const [i, context] of contexts.entries())
    for (const page of context.pages())
      await page.screenshot({ path: join(shots, `fail-${i}.png`), fullPage: true }).catch(() => undefined);
  console.error(`failure screenshots in ${shots}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
