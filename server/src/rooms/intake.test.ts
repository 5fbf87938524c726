import { describe, expect, it } from "vitest";
import { actMessageSchema, undoMessageSchema } from "@loom/shared";
import { intake } from "./intake.ts";
import { TokenBucket } from "./rate-limit.ts";

const act = (text: string, seq = 1) => ({ seq, command: { kind: "custom", characterId: "c1", text } });

describe("command intake", () => {
  it("passes a well-formed command from a player within the rate", () => {
    const taken = intake(
      actMessageSchema,
      act("looks around"),
      100,
      { role: "player", bucket: new TokenBucket(5, 0) },
      0,
    );
    expect(taken).toMatchObject({
      ok: true,
      body: { seq: 1, command: { kind: "custom", text: "looks around" } },
    });
  });

  it("refuses, in order, oversized, too frequent, malformed and spectators' messages, keeping the seq", () => {
    const player = { role: "player" as const, bucket: new TokenBucket(5, 0) };
    expect(intake(actMessageSchema, act("x", 7), 9_000, player, 0)).toMatchObject({
      ok: false,
      seq: 7,
      rejection: { code: "payload_too_large" },
    });
    expect(intake(actMessageSchema, { seq: 8, command: { kind: "teleport" } }, 100, player, 0)).toMatchObject(
      {
        ok: false,
        seq: 8,
        rejection: { code: "invalid_message" },
      },
    );
    expect(intake(actMessageSchema, "not an object", 100, player, 0)).toMatchObject({
      ok: false,
      seq: null,
      rejection: { code: "invalid_message" },
    });
    // the refused messages took from the allowance as the accepted ones do
    expect(intake(actMessageSchema, act("one", 9), 100, player, 0).ok).toBe(true);
    expect(intake(actMessageSchema, act("two", 10), 100, player, 0).ok).toBe(true);
    expect(intake(actMessageSchema, act("three", 11), 100, player, 0)).toMatchObject({
      ok: false,
      seq: 11,
      rejection: { code: "rate_limited" },
    });
    expect(
      intake(actMessageSchema, { seq: 12, command: { kind: "teleport" } }, 100, player, 0),
    ).toMatchObject({
      rejection: { code: "rate_limited" },
    });
    // a second later the bucket has refilled
    expect(intake(actMessageSchema, act("four", 13), 100, player, 1_000).ok).toBe(true);
    const spectator = { role: "spectator" as const, bucket: new TokenBucket(0, 0) };
    expect(intake(undoMessageSchema, { seq: 3 }, 100, spectator, 0)).toMatchObject({
      ok: false,
      seq: 3,
      rejection: { code: "not_allowed" },
    });
  });

  it("never throws, whatever the decoded message holds", () => {
    const gm = { role: "gm" as const, bucket: new TokenBucket(0, 0) };
    const cyclic: Record<string, unknown> = { seq: 1 };
    cyclic.command = cyclic;
    const getter = {
      seq: 1,
      get command(): unknown {
        throw new Error("boom");
      },
    };
    const seqGetter = {
      get seq(): unknown {
        throw new Error("boom");
      },
    };
    const hostile: unknown[] = [
      { seq: 5n, command: { kind: "custom", characterId: "c1", text: "x" } },
      { seq: Number.NaN },
      { seq: Infinity },
      { seq: "7" },
      [1, 2, 3],
      null,
      undefined,
      5n,
      cyclic,
      getter,
      seqGetter,
      Object.create(null),
    ];
    for (const message of hostile) {
      const taken = intake(actMessageSchema, message, 100, gm, 0);
      expect(taken).toMatchObject({ ok: false, rejection: { code: "invalid_message" } });
      if (!taken.ok) expect(taken.seq === null || taken.seq === 1).toBe(true);
    }
  });
});
