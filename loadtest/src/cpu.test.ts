import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { describe, expect, it } from "vitest";
import { cpuBetween, processCpuMs, type CpuReading } from "./cpu.ts";

const reading = (at: number, busyMs: number, totalMs: number, selfMs: number, serverMs: number | null) =>
  ({ at, machine: { busyMs, totalMs }, selfMs, serverMs }) satisfies CpuReading;

describe("cpu accounting", () => {
  it("turns CPU time over a window into cores and the machine's busy share", () => {
    const window = cpuBetween(
      reading(1_000, 500, 4_000, 100, 50),
      reading(3_000, 3_500, 8_000, 1_900, 1_250),
    );
    expect(window).toEqual({ cores: cpus().length, machineBusy: 0.75, loadGenerator: 0.9, server: 0.6 });
    expect(cpuBetween(reading(0, 0, 1, 0, null), reading(1_000, 1, 2, 10, 20)).server).toBeNull();
  });

  it.runIf(process.platform === "linux")(
    "reads a process's CPU from /proc as the process counts it",
    async () => {
      // the child spins for 300 ms, prints its own CPU time, then idles until its stdin closes
      const child = spawn(
        process.execPath,
        [
          "-e",
          `const end = Date.now() + 300; while (Date.now() < end);
         const { user, system } = process.cpuUsage();
         process.stdout.write(String((user + system) / 1000));
         process.stdin.resume();`,
        ],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const own = await new Promise<number>((done) =>
        child.stdout.once("data", (data) => done(Number(data))),
      );
      const read = processCpuMs(child.pid!);
      child.stdin.end();
      await new Promise((done) => child.once("exit", done));
      expect(own).toBeGreaterThan(100);
      // /proc counts in 10 ms ticks; the idle child adds next to nothing between the two readings
      expect(Math.abs(read! - own)).toBeLessThan(40);
      expect(processCpuMs(child.pid!)).toBeNull();
    },
  );
});
