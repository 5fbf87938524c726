import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { buildWebClientIfNeeded } from "../../server/src/web/build.ts";

/** Debian's chromium (`.ci/run` installs it); CHROMIUM points elsewhere. */
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Before a browser test's server starts: chromium is there, and `web/dist` is built from the sources. */
export async function readyForBrowser(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const { error } = await buildWebClientIfNeeded();
  if (error) throw new Error(`web client build failed: ${error}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}
