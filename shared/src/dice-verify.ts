import { diceSum, rollFate, type Random } from "./dice.ts";
import { diceCommitment, diceFor } from "./fair-dice.ts";
import { finalDice } from "./fate/roll.ts";
import type { Turn } from "./turn.ts";

/**
 * What a universe discloses about one stretch of its timeline's dice: the universe that rolled the
 * positions after `from` (its branch position, 0 for a root) up to where the next, younger stretch
 * begins. `secret` and `legacySeed` are null until that universe's game master reveals them.
 */
export interface DiceSegment {
  universeId: string;
  from: number;
  /** sha256 of the secret, hex: published when the universe was created. */
  commitment: string;
  revealedAt: string | null;
  secret: string | null;
  /** Positions up to this one were rolled before dice secrets existed (0: none). */
  legacyThrough: number;
  legacySeed: number | null;
}

/** A universe's dice: its own stretch first, then its parent's, back to the root universe. */
export interface DiceDisclosure {
  universeId: string;
  chain: DiceSegment[];
}

export interface DiceMismatch {
  position: number;
  field: "dice" | "oppositionDice" | "rerolls" | "total";
  recorded: unknown;
  derived: unknown;
}

export interface DiceVerification {
  /** Every roll re-derived and matched, and every revealed secret matches its commitment. */
  ok: boolean;
  /** Positions whose rolls re-derive from a revealed secret that matches its commitment. */
  verified: number[];
  /** Positions rolled before dice secrets existed, re-derived from their (then public) seed. */
  legacy: number[];
  /** Positions with a roll whose universe has not revealed its secret yet. */
  sealed: number[];
  mismatches: DiceMismatch[];
  /** Universes whose revealed secret does not hash to the commitment given. */
  badCommitments: string[];
}

/** The stretch of the chain that rolled `position`: the youngest one that starts before it. */
function segmentOf(chain: readonly DiceSegment[], position: number): DiceSegment | undefined {
  return chain.find((segment) => position > segment.from);
}

/**
 * Re-derives every recorded roll of `turns` from the disclosed secrets and compares: the draw order
 * is the rules' (the actor's 4dF, the active opponent's 4dF, one 4dF per reroll; see
 * fate/roll.ts). Compare `chain`'s commitments with the ones the universes published before play:
 * this function checks the secrets against the commitments it is given. Pure; turns without a roll
 * (or whose roll is withheld from the reader) are skipped.
 */
export function verifyDice(chain: readonly DiceSegment[], turns: readonly Turn[]): DiceVerification {
  const result: DiceVerification = {
    ok: true,
    verified: [],
    legacy: [],
    sealed: [],
    mismatches: [],
    badCommitments: [],
  };
  const sources = new Map<string, ((position: number) => Random) | null>();
  for (const segment of chain) {
    if (segment.secret === null) {
      sources.set(segment.universeId, null);
      continue;
    }
    let committed = false;
    try {
      committed = diceCommitment(segment.secret) === segment.commitment;
    } catch {
      committed = false;
    }
    if (!committed) {
      result.badCommitments.push(segment.universeId);
      sources.set(segment.universeId, null);
      continue;
    }
    sources.set(
      segment.universeId,
      diceFor({
        universeId: segment.universeId,
        secret: segment.secret,
        legacySeed: segment.legacySeed,
        legacyThrough: segment.legacySeed === null ? 0 : segment.legacyThrough,
      }),
    );
  }

  for (const turn of turns) {
    const resolution = turn.resolution;
    if (!resolution) continue;
    const segment = segmentOf(chain, turn.position);
    const source = segment ? sources.get(segment.universeId) : null;
    if (!segment || !source) {
      result.sealed.push(turn.position);
      continue;
    }
    if (turn.position <= segment.legacyThrough && segment.legacySeed === null) {
      result.sealed.push(turn.position);
      continue;
    }
    const random = source(turn.position);
    const mismatch = (field: DiceMismatch["field"], recorded: unknown, derived: unknown) =>
      result.mismatches.push({ position: turn.position, field, recorded, derived });
    let matched = true;
    const dice = rollFate(random);
    if (!same(resolution.dice, dice)) {
      mismatch("dice", resolution.dice, dice);
      matched = false;
    }
    if (resolution.oppositionKind === "active") {
      const opposition = rollFate(random);
      if (!same(resolution.oppositionDice ?? [], opposition)) {
        mismatch("oppositionDice", resolution.oppositionDice, opposition);
        matched = false;
      }
    }
    const rerolls = resolution.rerolls.map(() => rollFate(random));
    if (!resolution.rerolls.every((recorded, i) => same(recorded, rerolls[i]!))) {
      mismatch("rerolls", resolution.rerolls, rerolls);
      matched = false;
    }
    const total = resolution.rating + diceSum(finalDice(resolution)) + resolution.invokeBonus;
    if (total !== resolution.total) {
      mismatch("total", resolution.total, total);
      matched = false;
    }
    if (matched) {
      if (turn.position <= segment.legacyThrough) result.legacy.push(turn.position);
      else result.verified.push(turn.position);
    }
  }
  result.ok =
    result.mismatches.length === 0 && result.badCommitments.length === 0 && result.sealed.length === 0;
  return result;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
