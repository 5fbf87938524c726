// `npm run bench -- <name>` runs one benchmark, `npm run bench` runs them all. A benchmark is a
// file `<workspace>/bench/<name>.bench.ts` whose default export resolves to its figures; each
// prints as one JSON line {"bench": name, ...figures}. Progress goes to stderr.
import { readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

type Bench = () => Promise<Record<string, unknown>>;

const root = resolve(import.meta.dirname, "..");
const found = new Map<string, string>();
for (const workspace of ["shared", "server", "client-sdk", "loadtest"]) {
  const dir = join(root, workspace, "bench");
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) {
    if (file.endsWith(".bench.ts")) found.set(file.slice(0, -".bench.ts".length), join(dir, file));
  }
}

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
for (const name of wanted) {
  if (!found.has(name)) {
    console.error(`unknown benchmark "${name}"; available: ${[...found.keys()].sort().join(", ")}`);
    process.exit(2);
  }
}

let failed = false;
for (const name of wanted.length > 0 ? wanted : [...found.keys()].sort()) {
  try {
    const module = (await import(pathToFileURL(found.get(name)!).href)) as { default: Bench };
    const figures = await module.default();
    console.log(JSON.stringify({ bench: name, ...figures }));
  } catch (error) {
    failed = true;
    console.error(`benchmark ${name} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);
