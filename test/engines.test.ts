import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import semver from "semver";

/**
 * Loom runs on Node 20.19 or newer, while the Colyseus 0.18 packages and `openai` (the narrator's
 * client) declare Node 22: on Node 20, `npm ci` prints one EBADENGINE warning for each of them. This is why that is harmless,
 * as a check that fails the day it stops being true: those packages are the only installed ones
 * whose declared engine Node 20.19 misses, and their code calls none of the APIs Node 20 lacks.
 * (The whole suite, CI's included, runs on Node 20.)
 */

const root = resolve(import.meta.dirname, "..");
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { engines?: { node?: string }; version?: string }>;
};
const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } };

/** The oldest Node Loom supports, from its own `engines`. */
const OLDEST = semver.minVersion(ours.engines.node)!.version;

/** Packages whose declared engine the oldest supported Node misses, reviewed: see the comment above. */
const REVIEWED = [
  "@colyseus/core",
  "@colyseus/greeting-banner",
  "@colyseus/redis-driver",
  "@colyseus/redis-presence",
  "@colyseus/shared-types",
  "@colyseus/testing",
  "@colyseus/tools",
  "@colyseus/ws-transport",
  "openai",
];

/** APIs and globals added after Node 20.19 (with the version that added them). */
const NEWER_THAN_20: Array<[RegExp, string]> = [
  [/\bPromise\.withResolvers\b/, "Promise.withResolvers (22)"],
  [/\bPromise\.try\b/, "Promise.try (23)"],
  [/\bArray\.fromAsync\b/, "Array.fromAsync (22)"],
  [/\b(Object|Map)\.groupBy\b/, "Object/Map.groupBy (21)"],
  [/\.(union|intersection|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\(/, "Set methods (22)"],
  [/\bIterator\.from\b|\.values\(\)\.(map|filter|take|drop|toArray)\(/, "iterator helpers (22)"],
  [/\bnew WebSocket\(|globalThis\.WebSocket\b/, "global WebSocket (22)"],
  [/\bnavigator\./, "global navigator (21)"],
  [/\b(fs|fsp|promises)\.glob(Sync)?\b|\bglobSync\b/, "fs.glob (22)"],
  [/["']node:sqlite["']/, "node:sqlite (22.5)"],
  [
    /\bFloat16Array\b|\bRegExp\.escape\b|\bError\.isError\b/,
    "Float16Array, RegExp.escape, Error.isError (24)",
  ],
];

/**
 * Matches reviewed by hand, by file: each is a feature check that falls back when the API is
 * missing, or sits in a module Loom never imports.
 */
const GUARDED: Record<string, string> = {
  "openai/auth/subject-token-providers": "Error.isError captured and checked to be a function before use",
  "openai/lib/EventStream":
    "Error.isError checked before use; Float16Array is a name in a list of typed arrays",
  "openai/client": "navigator read only through typeof and instanceof checks",
  "openai/core/streaming": "navigator checked for undefined first",
  "openai/internal/detect-platform": "navigator checked for undefined first",
  "openai/beta/realtime/websocket": "the realtime client: not imported by Loom",
  "openai/realtime/websocket": "the realtime client: not imported by Loom",
};

function installed(name: string): string {
  return join(root, "node_modules", name);
}

function codeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (entry === "node_modules") return [];
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return codeFiles(path);
    return /\.(c|m)?js$/.test(entry) ? [path] : [];
  });
}

describe(`Node ${OLDEST} and the engines dependencies declare`, () => {
  it("only the reviewed Colyseus packages declare an engine the oldest supported Node misses", () => {
    const missed = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && entry.engines?.node !== undefined)
      .filter(([, entry]) => !semver.satisfies(OLDEST, entry.engines!.node!))
      .map(([path]) => path.replace(/^.*node_modules\//, ""));
    expect([...new Set(missed)].sort()).toEqual(REVIEWED);
  });

  it("the reviewed packages call no API that Node 20 lacks", () => {
    const found: string[] = [];
    for (const name of REVIEWED) {
      const files = codeFiles(installed(name));
      expect(files.length, name).toBeGreaterThan(0);
      for (const file of files) {
        const code = readFileSync(file, "utf8");
        const module = file.slice(join(root, "node_modules").length + 1).replace(/\.(c|m)?js$/, "");
        for (const [pattern, what] of NEWER_THAN_20)
          if (pattern.test(code) && !(module in GUARDED)) found.push(`${module}: ${what}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("the check finds such a call where there is one", () => {
    const samples = ["const { promise } = Promise.withResolvers();", "a.union(b)", "new WebSocket(url)"];
    for (const sample of samples)
      expect(
        NEWER_THAN_20.some(([pattern]) => pattern.test(sample)),
        sample,
      ).toBe(true);
  });
});
