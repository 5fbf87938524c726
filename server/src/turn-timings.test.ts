import { describe, expect, it } from "vitest";
import { TurnTimings } from "./turn-timings.ts";

function recorder() {
  const seen = {
    kinds: [] as string[],
    ack: [] as number[],
    durable: [] as number[],
    persisted: [] as number[],
  };
  let now = 0;
  const timings = new TurnTimings(
    {
      turn: (kind) => seen.kinds.push(kind),
      ack: (s) => seen.ack.push(s),
      durable: (s) => seen.durable.push(s),
      persisted: (s) => seen.persisted.push(s),
    },
    () => now,
  );
  return { seen, timings, at: (ms: number) => (now = ms) };
}

describe("turn timings", () => {
  it("times an act to its ack, to durable and to persisted, in seconds from when it arrived", () => {
    const { seen, timings, at } = recorder();
    at(12);
    timings.turn(1, "action");
    timings.acted(1, 10);
    at(30);
    timings.durable(1);
    at(110);
    timings.persisted(1);
    expect(seen).toEqual({ kinds: ["action"], ack: [0.002], durable: [0.02], persisted: [0.1] });
    expect(timings.waiting).toBe(0);
  });

  it("counts a turn durable at its ack when the live store already made it so", () => {
    const { seen, timings, at } = recorder();
    timings.durable(1); // the authority marks a turn durable before it is acknowledged
    at(5);
    timings.turn(1, "action");
    timings.acted(1, 0);
    timings.durable(1);
    expect(seen.durable).toEqual([0.005]);
  });

  it("times only acts, and tells how many turns wait for the database and since when", () => {
    const { seen, timings, at } = recorder();
    at(100);
    timings.turn(1, "session_start");
    at(200);
    timings.turn(2, "action");
    timings.acted(2, 190);
    at(300);
    timings.turn(3, "undo");
    expect(timings.waiting).toBe(3);
    expect(timings.oldestWaitingMs()).toBe(200);
    at(400);
    timings.persisted(2);
    expect(seen.persisted).toEqual([0.21]);
    expect(timings.waiting).toBe(1);
    expect(timings.oldestWaitingMs()).toBe(100);
    timings.persisted(3);
    expect(timings.oldestWaitingMs()).toBe(0);
    expect(seen.kinds).toEqual(["session_start", "action", "undo"]);
  });
});
