import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive, processCpuMs } from "./cpu.ts";
import { startHog } from "./hog.ts";

describe("CPU hog", () => {
  it("keeps a core busy until stopped, and is gone after", async () => {
    const hog = await startHog(1, 60_000);
    const [pid] = hog.pids;
    try {
      // a busy loop, not a sleeping process: it piles up CPU time, however busy the machine (a
      // sleeping one would spend a few milliseconds in all)
      const deadline = Date.now() + 20_000;
      while ((processCpuMs(pid!) ?? 0) <= 1_000 && Date.now() < deadline) await sleep(50);
      expect(processCpuMs(pid!)).toBeGreaterThan(1_000);
    } finally {
      await hog.stop();
    }
    expect(processAlive(pid!)).toBe(false);
  });

  it("ends by itself at its deadline, so a load test that dies leaves nothing spinning", async () => {
    const hog = await startHog(2, 300);
    expect(hog.pids).toHaveLength(2);
    const deadline = Date.now() + 10_000;
    while (hog.pids.some(processAlive) && Date.now() < deadline) await sleep(50);
    expect(hog.pids.filter(processAlive)).toEqual([]);
    await hog.stop();
  });
});
