import { describe, expect, it } from "vitest";
import { refreshesFatePoints } from "./session-refresh.ts";

describe("refreshesFatePoints", () => {
  const gapMs = 60_000;

  it("given a run's first session, when it starts, then fate points refresh", () => {
    expect(refreshesFatePoints({ previousEndedAt: null, now: 5, gapMs })).toBe(true);
  });

  it("given a session that ended a moment ago, when the player returns, then nothing refreshes", () => {
    expect(refreshesFatePoints({ previousEndedAt: 1_000, now: 1_000 + gapMs - 1, gapMs })).toBe(false);
  });

  it("given a session that ended at least the gap ago, when the player returns, then fate points refresh", () => {
    expect(refreshesFatePoints({ previousEndedAt: 1_000, now: 1_000 + gapMs, gapMs })).toBe(true);
  });
});
