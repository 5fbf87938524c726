import { describe, expect, it } from "vitest";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { diceSum, rollFate, seededDice } from "./dice.ts";
import { verifyDice, type DiceSegment } from "./dice-verify.ts";
import { diceCommitment, diceFor, secretDice } from "./fair-dice.ts";
import { simulateCampaign } from "./testing/campaign.ts";
import type { Turn } from "./turn.ts";

const SECRET_A = "a1".repeat(32);
const SECRET_B = "5e".repeat(32);
const FOUR_DF_COUNTS = [1, 4, 10, 16, 19, 16, 10, 4, 1];

function segment(universeId: string, secret: string | null, from = 0, committed = secret): DiceSegment {
  return {
    universeId,
    from,
    commitment: diceCommitment(committed ?? SECRET_A),
    revealedAt: secret === null ? null : "2026-03-01T00:00:00.000Z",
    secret,
    legacyThrough: 0,
    legacySeed: null,
  };
}

const rolled = (turns: readonly Turn[]) =>
  turns.filter((turn) => turn.resolution).map((turn) => turn.position);

describe("fair dice", () => {
  it("commits to a secret with its sha256", () => {
    expect(diceCommitment("00".repeat(32))).toBe(
      "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925",
    );
    expect(() => diceCommitment("00".repeat(31))).toThrow(RangeError);
    expect(() => diceCommitment("ZZ".repeat(32))).toThrow(RangeError);
  });

  it("gives each secret, universe and position its own stream, the same every time", () => {
    const draw = (secret: string, universe: string, position: number) => {
      const random = secretDice(secret, universe, position);
      return Array.from({ length: 40 }, () => random.int(-1, 1)).join(",");
    };
    expect(draw(SECRET_A, "u1", 7)).toBe(draw(SECRET_A, "u1", 7));
    const streams = new Set([
      draw(SECRET_A, "u1", 7),
      draw(SECRET_A, "u1", 8),
      draw(SECRET_A, "u2", 7),
      draw(SECRET_B, "u1", 7),
      // the position and the universe id cannot run into each other
      draw(SECRET_A, "u11", 7),
      draw(SECRET_A, "u1", 17),
    ]);
    expect(streams.size).toBe(6);
    const dice = diceFor({ universeId: "u1", secret: SECRET_A, legacySeed: null, legacyThrough: 0 });
    expect(rollFate(dice(7))).toEqual(rollFate(secretDice(SECRET_A, "u1", 7)));
  });

  it("follows its published definition: blocks of HMAC-SHA256(secret, [domain, universe, position, i])", () => {
    const block = hmac(sha256, hexToBytes(SECRET_A), utf8ToBytes('["loom-dice/1","u1",7,0]'));
    const words = Array.from({ length: 8 }, (_, i) =>
      new DataView(block.buffer, block.byteOffset).getUint32(i * 4),
    );
    // the first 8 draws of [0, 2^32 - 1] take the first block's words as they are
    const random = secretDice(SECRET_A, "u1", 7);
    expect(Array.from({ length: 8 }, () => random.int(0, 2 ** 32 - 1))).toEqual(words);
  });

  it("rolls 4dF with the fair distribution", () => {
    const dice = diceFor({ universeId: "u", secret: SECRET_A, legacySeed: null, legacyThrough: 0 });
    const counts = new Array<number>(9).fill(0);
    const rolls = 81 * 400;
    for (let position = 1; position <= rolls; position++) counts[diceSum(rollFate(dice(position))) + 4]!++;
    // within 5 standard deviations of the expected binomial count for every sum
    counts.forEach((count, i) => {
      const p = FOUR_DF_COUNTS[i]! / 81;
      const sd = Math.sqrt(rolls * p * (1 - p));
      expect(Math.abs(count - rolls * p)).toBeLessThan(5 * sd);
    });
  });

  it("draws inside inclusive bounds, over narrow and wide ranges", () => {
    const random = secretDice(SECRET_A, "u", 1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(random.int(-2, 3));
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2, 3]);
    for (let i = 0; i < 200; i++) {
      const wide = random.int(0, 2 ** 40);
      expect(Number.isSafeInteger(wide) && wide >= 0 && wide <= 2 ** 40).toBe(true);
    }
    expect(() => random.int(3, 2)).toThrow(RangeError);
    expect(() => random.int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
  });

  it("keeps the seeded dice for positions rolled before the secret existed", () => {
    const dice = diceFor({ universeId: "u", secret: SECRET_A, legacySeed: 42, legacyThrough: 10 });
    const legacy = seededDice(42);
    for (const position of [1, 10]) expect(rollFate(dice(position))).toEqual(rollFate(legacy(position)));
    const after = Array.from({ length: 20 }, (_, i) => rollFate(dice(11 + i)).join());
    const seeded = Array.from({ length: 20 }, (_, i) => rollFate(legacy(11 + i)).join());
    expect(after).not.toEqual(seeded);
  });
});

describe("verifyDice", () => {
  const keysA = { universeId: "root", secret: SECRET_A, legacySeed: null, legacyThrough: 0 };
  const campaign = simulateCampaign({ seed: 9, turns: 120, universeId: "root", dice: diceFor(keysA) });

  it("verifies every roll of an honest timeline", () => {
    const result = verifyDice([segment("root", SECRET_A)], campaign.turns);
    expect(rolled(campaign.turns).length).toBeGreaterThan(20);
    expect(result).toMatchObject({ ok: true, mismatches: [], sealed: [], badCommitments: [] });
    expect(result.verified).toEqual(rolled(campaign.turns));
  });

  it("catches a tampered roll", () => {
    const target = campaign.turns.find((turn) => turn.resolution)!;
    const resolution = target.resolution!;
    const flipped = resolution.dice.map((die, i) => (i === 0 ? (die === 1 ? -1 : die + 1) : die));
    const tampered = campaign.turns.map((turn) =>
      turn === target
        ? { ...turn, resolution: { ...resolution, dice: flipped as typeof resolution.dice } }
        : turn,
    );
    const result = verifyDice([segment("root", SECRET_A)], tampered);
    expect(result.ok).toBe(false);
    expect(result.mismatches.map((m) => m.position)).toContain(target.position);
    expect(result.mismatches.find((m) => m.field === "dice")).toMatchObject({ recorded: flipped });
  });

  it("refuses a secret that is not the committed one, and reports sealed rolls", () => {
    const wrong = verifyDice([segment("root", SECRET_B, 0, SECRET_A)], campaign.turns);
    expect(wrong).toMatchObject({ ok: false, badCommitments: ["root"], verified: [] });
    const sealed = verifyDice([segment("root", null)], campaign.turns);
    expect(sealed.ok).toBe(false);
    expect(sealed.sealed).toEqual(rolled(campaign.turns));
  });

  it("verifies a branch: shared positions with the parent's secret, later ones with the branch's", () => {
    const keysB = { universeId: "branch", secret: SECRET_B, legacySeed: null, legacyThrough: 0 };
    const parentDice = diceFor(keysA);
    const branchDice = diceFor(keysB);
    const branch = simulateCampaign({
      seed: 9,
      turns: 120,
      universeId: "branch",
      dice: (position) => (position <= 60 ? parentDice(position) : branchDice(position)),
    });
    expect(branch.turns.slice(0, 60).map((turn) => turn.resolution)).toEqual(
      campaign.turns.slice(0, 60).map((turn) => turn.resolution),
    );
    const chain = [segment("branch", SECRET_B, 60), segment("root", SECRET_A)];
    const result = verifyDice(chain, branch.turns);
    expect(result.ok).toBe(true);
    expect(result.verified).toEqual(rolled(branch.turns));
    // the parent's secret alone does not account for the branch's own rolls
    const parentOnly = verifyDice([segment("root", SECRET_A)], branch.turns);
    expect(parentOnly.ok).toBe(false);
    expect(parentOnly.mismatches.every((m) => m.position > 60)).toBe(true);
    // until the parent reveals, the shared rolls stay sealed
    const parentSealed = verifyDice([segment("branch", SECRET_B, 60), segment("root", null)], branch.turns);
    expect(parentSealed.sealed).toEqual(rolled(branch.turns).filter((p) => p <= 60));
  });
});
