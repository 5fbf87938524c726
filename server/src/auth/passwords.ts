import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashes: scrypt with a per-password random salt, stored as
 * `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url). The parameters travel with the hash, so raising
 * them later only changes new hashes, and a login with an older hash rehashes it (`stale`).
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * 2^15 × 8 × 128 B = 32 MiB per hash, which is what makes guessing on GPUs costly; hashes run on
 * libuv's thread pool, off the event loop.
 */
export const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** A hash claiming more work than this is refused rather than computed (it could be planted). */
const MAX_N = 2 ** 20;

/** The password rules of the HTTP contract (shared/src/api/requests.ts). */
export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "@loom/shared";

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): Parsed | null {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split("$");
  if (scheme !== "scrypt" || rest.length > 0 || !salt || !key) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (![params.N, params.r, params.p].every((v) => Number.isInteger(v) && v >= 1) || params.N > MAX_N)
    return null;
  return { params, salt: Buffer.from(salt, "base64url"), key: Buffer.from(key, "base64url") };
}

export interface PasswordCheck {
  ok: boolean;
  /** The hash was made with weaker parameters than today's: store a new one. */
  stale: boolean;
}

/** Constant-time comparison of the derived key; an unreadable hash never matches. */
export async function verifyPassword(
  password: string,
  stored: string,
  current: ScryptParams = DEFAULT_PARAMS,
): Promise<PasswordCheck> {
  const parsed = parse(stored);
  if (!parsed) return { ok: false, stale: false };
  const key = await derive(password, parsed.salt, parsed.params);
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  const { N, r, p } = parsed.params;
  return { ok, stale: ok && (N < current.N || r < current.r || p < current.p) };
}

/**
 * For a login name with no password: the same work as a real check, so the answer's timing does
 * not tell which names have accounts.
 */
let decoy: Promise<string> | null = null;
export async function burnPasswordCheck(password: string): Promise<void> {
  decoy ??= hashPassword("decoy password, never matches");
  await verifyPassword(password, await decoy);
}
