import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { log } from "../log.ts";

/** The repository's root, where web/ lives beside server/. */
const root = resolve(import.meta.dirname, "../../..");
export const WEB_DIR = join(root, "web");
export const WEB_DIST = join(WEB_DIR, "dist");

/** What the bundle is made of: the page, its code, and the SDK and shared code it imports. */
const SOURCES = [
  join(WEB_DIR, "index.html"),
  join(WEB_DIR, "vite.config.ts"),
  join(WEB_DIR, "src"),
  join(root, "client-sdk/src"),
  join(root, "shared/src"),
];

function newestChange(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry.endsWith(".test.ts")) continue;
    newest = Math.max(newest, newestChange(join(path, entry)));
  }
  return newest;
}

/** Why the built client must be (re)built, or null when web/dist is newer than all it is made of. */
export function webBuildNeeded(dist = WEB_DIST, sources: readonly string[] = SOURCES): string | null {
  const index = join(dist, "index.html");
  if (!existsSync(index)) return "web/dist is missing";
  const built = statSync(index).mtimeMs;
  const changed = Math.max(...sources.map(newestChange));
  return changed > built ? "its sources changed since web/dist was built" : null;
}

/**
 * Builds the web client with Vite, in this process, when web/dist is missing or older than its
 * sources (`npm start` needs no second command). Vite is imported only then, so a server with an
 * up-to-date build never loads it. A failure is logged and returned: the server starts anyway and
 * serves the API, with a page at `/` that says the client is not built.
 */
export async function buildWebClientIfNeeded(
  options: { force?: boolean } = {},
): Promise<{ built: boolean; error: string | null }> {
  const reason = options.force ? "a build was asked for" : webBuildNeeded();
  if (!reason) return { built: false, error: null };
  if (!existsSync(join(WEB_DIR, "index.html"))) {
    const error = "web/ is not in this checkout";
    log.warn(`web client not built: ${error}; the API is served without it`);
    return { built: false, error };
  }
  log.info(`building the web client (${reason}): vite build web/ → web/dist …`);
  const started = performance.now();
  try {
    const vite = await import("vite");
    await vite.build({
      root: WEB_DIR,
      configFile: join(WEB_DIR, "vite.config.ts"),
      logLevel: "warn",
    });
    log.info(`web client built in ${Math.round(performance.now() - started)} ms`);
    return { built: true, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.warn(
      `web client could not be built (${message.split("\n")[0]}); the server starts without it. ` +
        "Run `npm ci` (it installs Vite) and start again.",
    );
    return { built: false, error: message };
  }
}
