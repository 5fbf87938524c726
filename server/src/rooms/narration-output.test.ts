import { describe, expect, it } from "vitest";
import type { NarrationMessage } from "@loom/shared";
import type { Audience } from "../narrator/index.ts";
import { NarrationOutput } from "./narration-output.ts";

const piece = (position: number, chunk: string, done = false): NarrationMessage => ({
  position,
  chunk,
  done,
});

/** An output whose deliveries are recorded: each one an audience and the chunks it carried. */
function recorded(lingerMs?: number, firstLingerMs?: number) {
  const deliveries: Array<[Audience, string[]]> = [];
  const output = new NarrationOutput(
    (messages, audience) => deliveries.push([audience, messages.map((m) => `${m.position}:${m.chunk}`)]),
    lingerMs,
    firstLingerMs,
  );
  return { output, deliveries };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("NarrationOutput", () => {
  it("with no first linger, sends a telling's first piece at once, after the pieces waiting before it", () => {
    const { output, deliveries } = recorded(60_000, 0);
    output.push(piece(1, "end of one", true), "table", false);
    expect(deliveries).toEqual([]);
    output.push(piece(2, "start of two"), "table", true);
    expect(deliveries).toEqual([["table", ["1:end of one", "2:start of two"]]]);
    expect(output.size).toBe(0);
  });

  it("keeps a telling's first piece for the room's next write, or its shorter linger, with what waits before it", async () => {
    const { output, deliveries } = recorded(60_000, 20);
    output.push(piece(1, "end of one", true), "table", false);
    output.push(piece(2, "start of two"), "table", true);
    expect(deliveries).toEqual([]);
    output.flush();
    expect(deliveries).toEqual([["table", ["1:end of one", "2:start of two"]]]);
    // no write comes: the first piece leaves after its own linger, not the others' minute
    output.push(piece(3, "later"), "table", false);
    output.push(piece(4, "start of four"), "table", true);
    await sleep(5);
    expect(deliveries).toHaveLength(1);
    await sleep(60);
    expect(deliveries).toEqual([
      ["table", ["1:end of one", "2:start of two"]],
      ["table", ["3:later", "4:start of four"]],
    ]);
    expect(output.size).toBe(0);
  });

  it("keeps the other pieces for the room's next write, all of an audience in one delivery, in order", () => {
    const { output, deliveries } = recorded(60_000);
    output.push(piece(1, "a"), "table", false);
    output.push(piece(2, "hidden", true), "gm", false);
    output.push(piece(1, "b", true), "table", false);
    expect(deliveries).toEqual([]);
    expect(output.size).toBe(3);
    output.flush();
    expect(deliveries).toEqual([
      ["table", ["1:a", "1:b"]],
      ["gm", ["2:hidden"]],
    ]);
    output.flush(); // nothing waits: nothing is sent
    expect(deliveries).toHaveLength(2);
  });

  it("sends pieces no write came for once they have waited the linger, and only once", async () => {
    const { output, deliveries } = recorded(30);
    output.push(piece(3, "told whole", true), "table", false);
    await sleep(5);
    expect(deliveries).toEqual([]);
    await sleep(60);
    expect(deliveries).toEqual([["table", ["3:told whole"]]]);
    // a flush before the linger ends stops its timer: the pieces leave once
    output.push(piece(4, "x", true), "table", false);
    output.flush();
    await sleep(60);
    expect(deliveries).toEqual([
      ["table", ["3:told whole"]],
      ["table", ["4:x"]],
    ]);
  });
});
