import { describe, expect, it } from "vitest";
import { Slots } from "./slots.ts";

describe("slots", () => {
  it("refuse a newcomer when all are taken, and hand a given-back slot to the longest waiting", async () => {
    // given two slots, both taken
    const slots = new Slots(2);
    expect([slots.tryTake(), slots.tryTake()]).toEqual([true, true]);
    // when a newcomer asks, and two returning holders wait
    expect(slots.tryTake()).toBe(false);
    const order: string[] = [];
    const first = slots.take().then(() => order.push("first"));
    const second = slots.take().then(() => order.push("second"));
    slots.give();
    await first;
    // then the slot went to the first waiting, not to a newcomer asking meanwhile
    expect(slots.tryTake()).toBe(false);
    expect(order).toEqual(["first"]);
    slots.give();
    await second;
    expect(order).toEqual(["first", "second"]);
    expect(slots.inUse).toBe(2);
    // once nobody waits, a slot given back is free
    slots.give();
    expect(slots.inUse).toBe(1);
    expect(slots.tryTake()).toBe(true);
  });
});
