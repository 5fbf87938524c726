// A vitest reporter that keeps what the JSON report drops: the errors of a file or a describe block
// that failed outside its tests (a beforeAll that threw or timed out, an import). scripts/test.mjs
// reads them to say why a file failed, in CI's last lines, instead of an empty message.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** Where a run writes them: LOOM_HOOK_ERRORS names another file for a run beside another. */
export const HOOK_ERRORS = process.env.LOOM_HOOK_ERRORS ?? join(".tmp", "vitest-hook-errors.json");

export default class HookErrorsReporter {
  onTestRunEnd(testModules) {
    const errors = {};
    for (const module of testModules) {
      const found = [...module.errors()];
      for (const suite of module.children.allSuites())
        for (const error of suite.errors()) found.push({ ...error, suite: suite.fullName });
      if (found.length === 0) continue;
      errors[relative(process.cwd(), module.moduleId)] = found.map((error) => ({
        suite: error.suite,
        // the stack too: scripts/test.mjs names the line of the project that threw
        message: [error.message ?? String(error), error.stack ?? ""].join("\n"),
      }));
    }
    mkdirSync(".tmp", { recursive: true });
    writeFileSync(HOOK_ERRORS, JSON.stringify(errors, null, 2));
  }
}
