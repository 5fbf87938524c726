import { describe, expect, it } from "vitest";
import { GenerationCache } from "./generations.ts";

describe("token generations cache", () => {
  it("an announced generation is used at once; an older one arriving late changes nothing", async () => {
    // given a player whose generation 0 was read a moment ago
    const stored = new Map([["player-1", 0]]);
    let reads = 0;
    const cache = new GenerationCache(
      async (id) => {
        reads++;
        return stored.get(id) ?? null;
      },
      () => 1_000,
    );
    expect(await cache.get("player-1")).toBe(0);
    // when another process logs the player out twice and the announcements cross
    stored.set("player-1", 2);
    cache.raise("player-1", 2);
    cache.raise("player-1", 1);
    // then the newest is what this process checks tokens against, without reading it again
    expect(await cache.get("player-1")).toBe(2);
    expect(reads).toBe(1);
  });
});
