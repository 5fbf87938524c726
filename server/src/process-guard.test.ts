import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const guard = resolve(import.meta.dirname, "process-guard.ts");

/** Runs a script in a fresh Node process with the guards installed; returns its exit code and output. */
function runGuarded(body: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "loom-guard-"));
  const script = join(dir, "script.mts");
  writeFileSync(
    script,
    `import { installProcessGuards } from ${JSON.stringify(guard)};\n` +
      `installProcessGuards(() => { console.log("fatal handled"); process.exit(3); });\n${body}\n`,
  );
  const run = spawnSync(process.execPath, ["--import", "tsx", script], {
    cwd: resolve(import.meta.dirname, "../.."),
    env: { ...process.env, LOOM_LOG_LEVEL: "warn", VITEST: "" },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("process guards", () => {
  it("log an unhandled rejection and an uncaught exception and keep the process serving", () => {
    const { status, output } = runGuarded(`
      void Promise.reject(new TypeError("Do not know how to serialize a BigInt"));
      setTimeout(() => { throw new Error("thrown from a timer"); }, 10);
      setTimeout(() => { console.log("still serving"); process.exit(0); }, 200);
    `);
    expect(output).toContain("unhandled promise rejection (serving on)");
    expect(output).toContain("Do not know how to serialize a BigInt");
    expect(output).toContain("uncaught exception (serving on)");
    expect(output).toContain("still serving");
    expect(status).toBe(0);
  });

  it("shut down through the fatal path when the listening socket is lost", () => {
    const { status, output } = runGuarded(`
      setTimeout(() => { throw Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }); }, 10);
      setTimeout(() => { console.log("kept serving"); process.exit(0); }, 2_000);
    `);
    expect(output).toContain("fatal error; shutting down");
    expect(output).toContain("fatal handled");
    expect(output).not.toContain("kept serving");
    expect(status).toBe(3);
  });
});
