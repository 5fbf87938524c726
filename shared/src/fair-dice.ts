import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalJson } from "./canonical.ts";
import { createRandom, turnSeed, type Random } from "./dice.ts";

/**
 * Provably fair dice. Each universe has a secret of DICE_SECRET_BYTES random bytes that no API
 * returns until its game master reveals it; `sha256(secret)` is published when the universe is
 * created. The turn at `position` draws its numbers from the blocks
 *
 *   block i = HMAC-SHA256(secret, UTF-8 canonical JSON of ["loom-dice/1", universeId, position, i])
 *
 * for i = 0, 1, 2…, read as big-endian 32-bit words, with rejection sampling for uniform integers.
 * Without the secret nobody can tell the next roll from everything public; with it, anyone
 * re-derives every roll and checks the secret against the commitment published before the first.
 */
export const DICE_SECRET_BYTES = 32;

const DOMAIN = "loom-dice/1";
const HEX_SECRET = new RegExp(`^[0-9a-f]{${DICE_SECRET_BYTES * 2}}$`);

/** The commitment published for a secret (hex in, hex out). */
export function diceCommitment(secretHex: string): string {
  return bytesToHex(sha256(secretBytes(secretHex)));
}

function secretBytes(secretHex: string): Uint8Array {
  if (!HEX_SECRET.test(secretHex)) throw new RangeError("a dice secret is 32 bytes of lowercase hex");
  return hexToBytes(secretHex);
}

type Keyed = (message: Uint8Array) => Uint8Array;

/** HMAC-SHA256 under one key, its key schedule computed once. */
function keyedHmac(secret: Uint8Array): Keyed {
  const keyed = hmac.create(sha256, secret);
  return (message) => keyed.clone().update(message).digest();
}

const TWO_32 = 0x1_0000_0000;
const TWO_53 = 2 ** 53;

/** The random source of one turn: its blocks, drawn as they are needed. */
function turnRandom(mac: Keyed, universeId: string, position: number): Random {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`invalid position ${position}`);
  let block: DataView = new DataView(new ArrayBuffer(0));
  let counter = 0;
  let offset = 0;
  const word = (): number => {
    if (offset >= block.byteLength) {
      const bytes = mac(utf8ToBytes(canonicalJson([DOMAIN, universeId, position, counter++])));
      block = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      offset = 0;
    }
    const value = block.getUint32(offset);
    offset += 4;
    return value;
  };
  return {
    int(min: number, max: number): number {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
        throw new RangeError(`invalid range [${min}, ${max}]`);
      }
      const range = max - min + 1;
      if (!Number.isSafeInteger(range)) throw new RangeError(`range [${min}, ${max}] is too wide`);
      if (range <= TWO_32) {
        // rejection sampling: every value below `limit` maps onto the range equally often
        const limit = Math.floor(TWO_32 / range) * range;
        for (;;) {
          const value = word();
          if (value < limit) return min + (value % range);
        }
      }
      const limit = Math.floor(TWO_53 / range) * range;
      for (;;) {
        const value = (word() & 0x1f_ffff) * TWO_32 + word();
        if (value < limit) return min + (value % range);
      }
    },
  };
}

/** The random source of the turn at `position` of a universe, from its secret (hex). */
export function secretDice(secretHex: string, universeId: string, position: number): Random {
  return turnRandom(keyedHmac(secretBytes(secretHex)), universeId, position);
}

/**
 * How one universe rolls the positions it owns (those after its branch position): positions up to
 * `legacyThrough` were rolled before dice secrets existed, from `legacySeed`; later ones from the
 * secret. A universe created with a secret has `legacyThrough` 0.
 */
export interface DiceKeys {
  universeId: string;
  secret: string;
  legacySeed: number | null;
  legacyThrough: number;
}

/** The random source of each position a universe owns. */
export function diceFor(keys: DiceKeys): (position: number) => Random {
  const mac = keyedHmac(secretBytes(keys.secret));
  return (position) => {
    if (position <= keys.legacyThrough) {
      if (keys.legacySeed === null) throw new RangeError(`position ${position} has no legacy seed`);
      return createRandom(turnSeed(keys.legacySeed, position));
    }
    return turnRandom(mac, keys.universeId, position);
  };
}
