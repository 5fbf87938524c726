import { describe, expect, it } from "vitest";
import {
  BUCKET_BOUNDS_MS,
  between,
  highest,
  Histogram,
  LoopLag,
  loopBusy,
  Metrics,
  quantile,
} from "./metrics.ts";

describe("metrics histogram", () => {
  it("puts each value in the first bucket whose bound holds it", () => {
    const histogram = new Histogram();
    const values = [0, 0.05, 0.051, 1, 1.2, 10, 250, 59_999, 120_000];
    for (const value of values) histogram.record(value);
    const { buckets, count, maxMs } = histogram.read();
    expect(count).toBe(values.length);
    expect(maxMs).toBe(120_000);
    let i = 0;
    for (const value of values) {
      const index = BUCKET_BOUNDS_MS.findIndex((bound) => value <= bound);
      const expected = index === -1 ? BUCKET_BOUNDS_MS.length : index;
      expect(buckets[expected], `bucket of ${value}`).toBeGreaterThan(0);
      i += 1;
    }
    expect(buckets.reduce((sum, n) => sum + n, 0)).toBe(i);
  });

  it("reads percentiles within one bucket (10 %) of the exact value, also between two readings", () => {
    const histogram = new Histogram();
    for (let ms = 1; ms <= 100; ms++) histogram.record(ms);
    const first = histogram.read();
    expect(first.p50Ms).toBeGreaterThanOrEqual(50);
    expect(first.p50Ms).toBeLessThanOrEqual(55);
    expect(first.p99Ms).toBeGreaterThanOrEqual(99);
    expect(first.p99Ms).toBeLessThanOrEqual(109);
    for (let i = 0; i < 100; i++) histogram.record(500);
    const window = between(first, histogram.read());
    expect(window.reduce((sum, n) => sum + n, 0)).toBe(100);
    expect(quantile(window, 0.5)).toBeGreaterThanOrEqual(500);
    expect(quantile(window, 0.5)).toBeLessThanOrEqual(550);
    expect(quantile([], 0.99)).toBe(0);
  });

  it("tells how busy the event loop was between two readings", async () => {
    const metrics = new Metrics();
    const idle = metrics.read();
    await new Promise((resolve) => setTimeout(resolve, 60)); // waiting: the loop is idle
    const afterIdle = metrics.read();
    const spinUntil = performance.now() + 60;
    while (performance.now() < spinUntil); // running: the loop is busy
    await new Promise((resolve) => setImmediate(resolve));
    const afterBusy = metrics.read();
    expect(afterBusy.eventLoop.activeMs).toBeGreaterThan(afterIdle.eventLoop.activeMs);
    expect(loopBusy(idle.eventLoop, afterIdle.eventLoop)).toBeLessThan(0.5);
    expect(loopBusy(afterIdle.eventLoop, afterBusy.eventLoop)).toBeGreaterThan(0.5);
    expect(loopBusy(afterBusy.eventLoop, afterBusy.eventLoop)).toBe(0);
  });

  it("measures how late the loop runs a timer: a 60 ms stall shows, quiet waiting does not", async () => {
    const lag = new LoopLag(5).start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const quiet = lag.histogram.read();
    const spinUntil = performance.now() + 60;
    while (performance.now() < spinUntil); // a stall: the timer cannot fire
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stalled = between(quiet, lag.histogram.read());
    lag.stop();
    expect(quiet.count).toBeGreaterThan(3);
    expect(quiet.p50Ms).toBeLessThan(20);
    expect(highest(stalled)).toBeGreaterThanOrEqual(50);
    expect(highest(stalled)).toBeLessThanOrEqual(200);
    expect(highest([])).toBe(0);
    const stopped = lag.histogram.read().count;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(lag.histogram.read().count).toBe(stopped);
  });
});
