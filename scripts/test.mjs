// Runs a vitest project (`--project main` for `npm test`, `--project load` for `npm run test:load`)
// and ends with one summary line:
//   tests: N passed, N failed, N skipped
// where "skipped" is every declared test that did not run (skipped, todo, or in a skipped block).
// Without DATABASE_URL / REDIS_URL the real-service variants of the contract suites are skipped,
// and this says so up front; with CI=true a missing service is an error instead.
//
// The whole `main` project runs as two vitest processes at once: the fuzz suite (test/fuzz.test.ts,
// minutes of CPU-bound hostile input) at a low CPU priority, in a Postgres database, a Redis
// database and a port range of its own (it audits every universe of its database), and every other
// file as usual. The suites spend much of their time waiting on timers and child processes; the
// fuzz fills that time instead of adding its own after it. Its output follows the others'.
// LOOM_TEST_SERIAL=1 runs them one after the other instead.
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync, rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const FUZZ_FILE = "test/fuzz.test.ts";

const missing = [
  ["DATABASE_URL", "Postgres turn store contract suite and Postgres-backed server tests"],
  ["REDIS_URL", "Redis live store contract suite and Redis-mode server tests"],
].filter(([name]) => !process.env[name]);

if (missing.length > 0) {
  if (process.env.CI) {
    console.error(
      `CI must run every real-service suite, but ${missing.map(([n]) => n).join(" and ")} is unset.`,
    );
    process.exit(1);
  }
  console.log("Running the embedded variants only. Skipped real-service suites:");
  for (const [name, what] of missing) console.log(`  - ${what} (set ${name} to run them)`);
  console.log("");
}

mkdirSync(".tmp", { recursive: true });
const args = process.argv.slice(2);
const wholeMain = args.length === 2 && args[0] === "--project" && args[1] === "main";
const runs =
  wholeMain && !process.env.LOOM_TEST_SERIAL
    ? [
        { name: "fuzz", args: [...args, FUZZ_FILE], env: await fuzzEnv(), background: true },
        { name: "main", args: [...args, "--exclude", FUZZ_FILE], env: process.env, background: false },
      ]
    : [{ name: "main", args, env: process.env, background: false }];

const results = await Promise.all(runs.map(run));
for (const result of results.filter((r) => r.log)) {
  console.log(`\n== ${result.name} (ran beside the other suites; its output follows)`);
  console.log(readFileSync(result.log, "utf8"));
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const result of results) {
  passed += result.passed;
  failed += result.failed;
  skipped += result.skipped;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.failed > 0 || r.status !== 0) ? 1 : 0);

/** One vitest process; a background one writes its output to a file, shown at the end. */
async function run({ name, args: runArgs, env, background }) {
  const report = join(".tmp", `vitest-report-${name}.json`);
  rmSync(report, { force: true });
  const log = background ? join(".tmp", `vitest-${name}.log`) : null;
  const command = [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...runArgs,
  ];
  const child = background
    ? spawn("nice", ["-n", "10", "npx", ...command], { stdio: ["ignore", "pipe", "pipe"], env })
    : spawn("npx", command, { stdio: "inherit", env });
  if (log) {
    const out = createWriteStream(log);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  }
  const status = await new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  const counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    const result = JSON.parse(readFileSync(report, "utf8"));
    const tests = result.testResults.flatMap((file) => file.assertionResults);
    counts.passed = tests.filter((test) => test.status === "passed").length;
    counts.failed =
      tests.filter((test) => test.status === "failed").length + (result.numRuntimeErrorTestSuites ?? 0);
    counts.skipped = tests.filter((test) => test.status !== "passed" && test.status !== "failed").length;
    if (status !== 0 && counts.failed === 0) counts.failed = 1; // a crash outside any test still fails the run
  } catch {
    counts.failed = Math.max(counts.failed, 1);
  }
  return { name, status, log, ...counts };
}

/**
 * The fuzz suite's own services: a fresh `<database>_fuzz` beside DATABASE_URL's, the Redis
 * database eight above REDIS_URL's, and ports 1,000 above the others'.
 */
async function fuzzEnv() {
  const env = {
    ...process.env,
    LOOM_TEST_PORT_OFFSET: String(Number(process.env.LOOM_TEST_PORT_OFFSET ?? 0) + 1000),
  };
  if (process.env.DATABASE_URL) {
    const url = new URL(process.env.DATABASE_URL);
    const name = `${url.pathname.slice(1) || "postgres"}_fuzz`;
    const { default: postgres } = await import("postgres");
    const sql = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => undefined });
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await sql.unsafe(`CREATE DATABASE "${name}"`);
    } finally {
      await sql.end();
    }
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
  }
  if (process.env.REDIS_URL) {
    const url = new URL(process.env.REDIS_URL);
    url.pathname = `/${(Number(url.pathname.slice(1) || 0) + 8) % 16}`;
    env.REDIS_URL = url.toString();
  }
  return env;
}
