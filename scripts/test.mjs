// Runs vitest projects (`--project main --project main-serial` for `npm test`, `--project load` for `npm run test:load`)
// and ends with a line for each failed test, `failed: <file> > <test>: <first line of the error>`,
// then one summary line:
//   tests: N passed, N failed, N skipped
// where "skipped" is every declared test that did not run (skipped, todo, or in a skipped block).
// `--beside <project>` runs that project at the same time in a second vitest (vitest runs a
// one-file-at-a-time project only after the others), its output printed once the first is done;
// `--after <project>` runs that project alone once both are. Every run's tests count in the
// summary; each is given the same arguments but `--project`.
// Without DATABASE_URL / REDIS_URL the real-service variants of the contract suites are skipped,
// and this says so up front; with CI=true a missing service is an error instead.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { HOOK_ERRORS } from "./hook-errors-reporter.mjs";

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

/**
 * Splits `--beside <project>` and `--after <project>` (any number of each) from the arguments
 * vitest is given.
 */
function phases(argv) {
  const beside = [];
  const after = [];
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--beside" && argv[i + 1] !== undefined) beside.push(argv[++i]);
    else if (argv[i] === "--after" && argv[i + 1] !== undefined) after.push(argv[++i]);
    else rest.push(argv[i]);
  }
  return { beside, after, rest };
}

/** The arguments without their `--project` choices: what a run of another project is given. */
function withoutProjects(args) {
  const kept = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--project") i++;
    else if (!args[i].startsWith("--project=")) kept.push(args[i]);
  }
  return kept;
}

/** One vitest run's files: its JSON report and the hook errors beside it. */
function runFiles(name) {
  const suffix = name ? `-${name}` : "";
  const files = {
    report: join(".tmp", `vitest-report${suffix}.json`),
    hookErrors: name ? join(".tmp", `vitest-hook-errors${suffix}.json`) : HOOK_ERRORS,
  };
  rmSync(files.report, { force: true });
  rmSync(files.hookErrors, { force: true });
  return files;
}

function vitestArgs(report, args) {
  return [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    "--reporter=./scripts/hook-errors-reporter.mjs",
    `--outputFile.json=${report}`,
    ...args,
  ];
}

/** Resolves with the exit status once the child is done (1 when it could not start). */
function finished(child) {
  return new Promise((resolveStatus) => {
    child.once("error", () => resolveStatus(1));
    child.once("close", (code) => resolveStatus(code ?? 1));
  });
}

const { beside, after, rest } = phases(process.argv.slice(2));
const several = beside.length + after.length > 0;
// with several runs, each finds only its own project's files among those named: none is no failure
// of its own (the summary fails a run that found no test anywhere)
const others = [...withoutProjects(rest), ...(several ? ["--passWithNoTests"] : [])];
const besideRuns = beside.map((project) => {
  const { report, hookErrors } = runFiles(project);
  const log = join(".tmp", `vitest-${project}.log`);
  const out = openSync(log, "w");
  const child = spawn("npx", vitestArgs(report, ["--project", project, ...others]), {
    stdio: ["ignore", out, out],
    env: { ...process.env, LOOM_HOOK_ERRORS: hookErrors },
  });
  closeSync(out);
  return { project, report, hookErrors, log, status: finished(child) };
});
const main = runFiles("");
const first = spawnSync(
  "npx",
  vitestArgs(main.report, [...rest, ...(several ? ["--passWithNoTests"] : [])]),
  {
    stdio: "inherit",
    env: process.env,
  },
);
const runs = [{ project: null, ...main, status: Promise.resolve(first.status ?? 1) }, ...besideRuns];
for (const other of besideRuns) {
  await other.status;
  console.log(`\n== ${other.project} (run beside the above)`);
  process.stdout.write(readFileSync(other.log, "utf8"));
}
// what must run alone, once the others are done
for (const project of after) {
  const files = runFiles(project);
  console.log(`\n== ${project} (after the above)`);
  const run = spawnSync("npx", vitestArgs(files.report, ["--project", project, ...others]), {
    stdio: "inherit",
    env: { ...process.env, LOOM_HOOK_ERRORS: files.hookErrors },
  });
  runs.push({ project, ...files, status: Promise.resolve(run.status ?? 1) });
}

/**
 * The first line of a failure's message, without colours, cut to one screen line; when the error
 * says what it waited for (a browser step's call log) and where in the project it was thrown,
 * those too: "locator.waitFor: Timeout" alone does not say which step of a scenario timed out.
 */
function firstLine(message) {
  const lines = String(message ?? "")
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .map((text) => text.trim());
  const line = lines.find((text) => text !== "") ?? "";
  const waited = lines.find((text) => text.startsWith("- waiting for "))?.slice(2);
  const places = lines
    .map((text) => /^at .*?((?:test|server|shared|web|client-sdk|loadtest)\/[^\s):]+:\d+)/.exec(text)?.[1])
    .filter((place) => place !== undefined && !place.includes("node_modules"));
  // where it was thrown, and the test file's line that led there when a helper threw it
  const at = [...new Set([places[0], places.find((place) => /\.test\.ts:/.test(place))])].filter(Boolean);
  return [line.slice(0, 300), waited?.slice(0, 200), at.length > 0 && `at ${at.join(" from ")}`]
    .filter(Boolean)
    .join(" — ");
}

let passed = 0;
let failed = 0;
let skipped = 0;
// one line per failed test or file, `failed: <file> > <test>: <first line of the error>`, printed
// again here because a long run's own report of them scrolls far above its last lines
const failures = [];
/** A file's errors outside its tests, `<describe block>: <first line>`, from the reporter beside this. */
function hookErrors(path, name) {
  try {
    const errors = JSON.parse(readFileSync(path, "utf8"))[name] ?? [];
    return errors
      .map((error) => (error.suite ? `${error.suite}: ` : "") + firstLine(error.message))
      .join("; ");
  } catch {
    return "";
  }
}

for (const one of runs) {
  const status = await one.status;
  let filesFailed = 0;
  let failedHere = 0;
  try {
    const result = JSON.parse(readFileSync(one.report, "utf8"));
    for (const file of result.testResults) {
      const name = relative(process.cwd(), file.name);
      const failedTests = file.assertionResults.filter((test) => test.status === "failed");
      for (const test of failedTests)
        failures.push(`failed: ${name} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
      // what failed outside its tests (an import, a hook), whether or not a test failed too
      const outside =
        file.status === "failed" ? firstLine(file.message) || hookErrors(one.hookErrors, name) : "";
      if (outside) failures.push(`failed: ${name}: ${outside}`);
      if (file.status === "failed" && failedTests.length === 0) {
        if (!outside) failures.push(`failed: ${name}`);
        filesFailed++;
      }
    }
    const tests = result.testResults.flatMap((file) => file.assertionResults);
    passed += tests.filter((test) => test.status === "passed").length;
    failedHere = tests.filter((test) => test.status === "failed").length + filesFailed;
    skipped += tests.filter((test) => test.status !== "passed" && test.status !== "failed").length;
    if (status !== 0 && failedHere === 0) failedHere = 1; // a crash outside any test still fails the run
  } catch {
    failedHere = Math.max(failedHere, 1);
    if (one.project) failures.push(`failed: the ${one.project} run (no report; see its output above)`);
  }
  failed += failedHere;
}
if (several && passed + failed + skipped === 0) {
  failures.push("failed: no test file matched");
  failed = 1;
}
for (const failure of failures) console.log(failure);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
