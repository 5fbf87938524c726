import { describe, expect, it } from "vitest";
import type { Client } from "@colyseus/core";
import type { Rejection } from "@loom/shared";
import { totalHandler } from "./total-handler.ts";
import { captureLog } from "../log.ts";

describe("totalHandler", () => {
  it("turns a throw or a rejection of the handler into one log line and an unavailable rejection", async () => {
    const replies: Array<{ seq: number | null; rejection: Rejection }> = [];
    const ctx = {
      universeId: "u1",
      who: () => "gm p1",
      reply: (_client: Client, seq: number | null, rejection: Rejection) => replies.push({ seq, rejection }),
      closing: () => false,
    };
    const client = { sessionId: "s1" } as unknown as Client;
    const logged: Array<Record<string, unknown>> = [];
    const restore = captureLog((line) => logged.push(JSON.parse(line) as Record<string, unknown>));
    try {
      totalHandler(ctx, "act", () => {
        throw new TypeError("Do not know how to serialize a BigInt");
      })(client, { seq: 4 });
      totalHandler(ctx, "undo", () => Promise.reject(new Error("lost")))(client, { seq: 5n });
      await new Promise((r) => setTimeout(r, 0));
    } finally {
      restore();
    }
    expect(replies).toEqual([
      { seq: 4, rejection: expect.objectContaining({ code: "unavailable" }) },
      { seq: null, rejection: expect.objectContaining({ code: "unavailable" }) },
    ]);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({
      level: "error",
      universeId: "u1",
      msg: 'universe u1: "act" from gm p1 (session s1) failed',
    });
    expect(logged[0]!.err).toContain("TypeError: Do not know how to serialize a BigInt");
    expect(logged[1]).toMatchObject({
      level: "error",
      universeId: "u1",
      msg: 'universe u1: "undo" from gm p1 (session s1) failed',
    });
  });
});
