import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { bundledEntry, workerBundle } from "./worker-bundle.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "loom-bundle-"));
  dirs.push(dir);
  return dir;
}

/** What a thread started from `entry` posts first. */
function firstMessage(entry: URL): Promise<unknown> {
  const worker = new Worker(entry);
  return new Promise((resolve, reject) => {
    worker.once("message", (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

/** An entry of two TypeScript modules, the second one's word given. */
function sources(dir: string, word: string): URL {
  writeFileSync(join(dir, "word.ts"), `export const word: string = ${JSON.stringify(word)};\n`);
  const entry = join(dir, "entry.ts");
  writeFileSync(
    entry,
    `import { parentPort } from "node:worker_threads";\nimport { word } from "./word.ts";\nparentPort!.postMessage(word);\n`,
  );
  return pathToFileURL(entry);
}

describe("a worker's bundle", () => {
  it("runs its TypeScript modules as one file, kept, and built again when a source changes", async () => {
    const cacheDir = join(folder(), "cache");
    const entry = sources(folder(), "first");
    // each call stands for a process of its own (bundledEntry keeps one answer a process)
    const first = await workerBundle(entry, { cacheDir });
    expect(await firstMessage(first)).toBe("first");
    const built = statSync(first).mtimeMs;

    const again = await workerBundle(entry, { cacheDir });
    expect(again.href).toBe(first.href);
    expect(statSync(again).mtimeMs).toBe(built);

    sources(dirname(fileURLToPath(entry)), "second");
    const changed = await workerBundle(entry, { cacheDir });
    expect(changed.href).not.toBe(first.href);
    expect(await firstMessage(changed)).toBe("second");
    expect(readdirSync(cacheDir).filter((name) => name.endsWith(".mjs"))).toHaveLength(2);

    // a bundle left an hour ago goes when the next one is built
    const hourAgo = new Date(Date.now() - 3_700_000);
    utimesSync(first, hourAgo, hourAgo);
    sources(dirname(fileURLToPath(entry)), "third");
    const third = await workerBundle(entry, { cacheDir });
    expect(await firstMessage(third)).toBe("third");
    expect(existsSync(first)).toBe(false);
    expect(existsSync(changed)).toBe(true);
  });

  it("keeps each module's own location, and imports a package left out from its installed file", async () => {
    const dir = folder();
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib", "beside.txt"), "found beside its module");
    writeFileSync(
      join(dir, "lib", "read.ts"),
      [
        `import { readFileSync } from "node:fs";`,
        `import { join } from "node:path";`,
        `export const beside = readFileSync(new URL("./beside.txt", import.meta.url), "utf8");`,
        `export const again = readFileSync(join(import.meta.dirname, "beside.txt"), "utf8");`,
        `export const named = "import.meta.url";`,
      ].join("\n"),
    );
    const pkg = join(dir, "node_modules", "loom-test-package");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "loom-test-package", type: "module", main: "main.js" }),
    );
    const installed = (version: number) =>
      writeFileSync(
        join(pkg, "main.js"),
        `export const version = ${version}; export const at = import.meta.url;\n`,
      );
    installed(1);
    const entry = join(dir, "entry.ts");
    writeFileSync(
      entry,
      [
        `import { parentPort } from "node:worker_threads";`,
        `import { beside, again, named } from "./lib/read.ts";`,
        `import { version, at } from "loom-test-package";`,
        `parentPort!.postMessage({ beside, again, named, version, at });`,
      ].join("\n"),
    );
    const cacheDir = join(dir, "node_modules", ".cache", "loom");
    const bundle = await workerBundle(pathToFileURL(entry), { cacheDir, externalPackages: true });
    expect(await firstMessage(bundle)).toEqual({
      beside: "found beside its module",
      again: "found beside its module",
      named: "import.meta.url",
      version: 1,
      at: pathToFileURL(join(pkg, "main.js")).href,
    });
    expect(readFileSync(bundle, "utf8")).not.toContain("export const version");

    // a package's file is among the sources: changed, the bundle is built again
    installed(2);
    const rebuilt = await workerBundle(pathToFileURL(entry), { cacheDir, externalPackages: true });
    expect(rebuilt.href).not.toBe(bundle.href);
    expect(await firstMessage(rebuilt)).toMatchObject({ version: 2 });
  });

  it("is null, and the caller goes on through tsx, when the entry cannot be built", async () => {
    const dir = folder();
    writeFileSync(join(dir, "broken.ts"), `import { missing } from "./nowhere.ts";\nconsole.log(missing);\n`);
    const warned = new Promise<Error>((resolve) => process.once("warning", resolve));
    expect(
      await bundledEntry(pathToFileURL(join(dir, "broken.ts")), { cacheDir: join(dir, "cache") }),
    ).toBeNull();
    expect((await warned).message).toMatch(/not bundled/);
  });
});
