// Runs vitest projects (`--project main --project main-serial` for `npm test`, `--project load` for `npm run test:load`)
// and ends with a line for each failed test, `failed: <file> > <test>: <first line of the error>`,
// then one summary line:
//   tests: N passed, N failed, N skipped
// where "skipped" is every declared test that did not run (skipped, todo, or in a skipped block).
// Without DATABASE_URL / REDIS_URL the real-service variants of the contract suites are skipped,
// and this says so up front; with CI=true a missing service is an error instead.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, mkdirSync } from "node:fs";
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
const report = join(".tmp", "vitest-report.json");
rmSync(report, { force: true });
rmSync(HOOK_ERRORS, { force: true });
const args = [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  "--reporter=./scripts/hook-errors-reporter.mjs",
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync("npx", args, { stdio: "inherit", env: process.env });

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
let filesFailed = 0;
/** A file's errors outside its tests, `<describe block>: <first line>`, from the reporter beside this. */
function hookErrors(name) {
  try {
    const errors = JSON.parse(readFileSync(HOOK_ERRORS, "utf8"))[name] ?? [];
    return errors
      .map((error) => (error.suite ? `${error.suite}: ` : "") + firstLine(error.message))
      .join("; ");
  } catch {
    return "";
  }
}

try {
  const result = JSON.parse(readFileSync(report, "utf8"));
  for (const file of result.testResults) {
    const name = relative(process.cwd(), file.name);
    const failedHere = file.assertionResults.filter((test) => test.status === "failed");
    for (const test of failedHere)
      failures.push(`failed: ${name} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
    // what failed outside its tests (an import, a hook), whether or not a test failed too
    const outside = file.status === "failed" ? firstLine(file.message) || hookErrors(name) : "";
    if (outside) failures.push(`failed: ${name}: ${outside}`);
    if (file.status === "failed" && failedHere.length === 0) {
      if (!outside) failures.push(`failed: ${name}`);
      filesFailed++;
    }
  }
  const tests = result.testResults.flatMap((file) => file.assertionResults);
  passed = tests.filter((test) => test.status === "passed").length;
  failed = tests.filter((test) => test.status === "failed").length + filesFailed;
  skipped = tests.filter((test) => test.status !== "passed" && test.status !== "failed").length;
  if (run.status !== 0 && failed === 0) failed = 1; // a crash outside any test still fails the run
} catch {
  failed = Math.max(failed, 1);
}
for (const failure of failures) console.log(failure);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || run.status !== 0 ? 1 : 0);
