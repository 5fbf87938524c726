import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT, errors, jwtVerify } from "jose";
import { REFUSAL_WORDS } from "@loom/shared";

/**
 * Access tokens: HS256 JWTs issued by this server, `sub` = player id, `name` = display name,
 * `gen` = the player's token generation when it was issued. They are presented at matchmaking
 * and on HTTP calls; the room derives roles from them. They are short-lived: refresh tokens
 * (sessions.ts) renew them, and raising a player's generation (log out everywhere) revokes every
 * one issued before. A token without `gen` is from before generations existed and counts as 0.
 */

export const TOKEN_ISSUER = "loom";
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
/** HS256 keys shorter than the hash output weaken the signature (RFC 7518 §3.2). */
const MIN_SECRET_LENGTH = 32;

export type AuthErrorReason =
  "missing" | "malformed" | "expired" | "bad_signature" | "invalid_claims" | "revoked";

/**
 * A token that does not prove who the caller is. `code` is what the wire reports: an expired
 * token is worth refreshing, any other is not.
 */
export class AuthError extends Error {
  readonly code: "token_expired" | "unauthorized";

  constructor(
    readonly reason: AuthErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AuthError";
    this.code = reason === "expired" ? "token_expired" : "unauthorized";
  }
}

export interface PlayerIdentity {
  playerId: string;
  name: string;
  /** The token's generation: what a connection admitted with it is revoked by (sessions.ts). */
  generation: number;
}

export interface TokenService {
  readonly ttlSeconds: number;
  issue(playerId: string, name: string, generation?: number): Promise<string>;
  /**
   * The identity a token proves; throws AuthError for a missing, malformed, expired, forged or
   * revoked one.
   */
  verify(token: string): Promise<PlayerIdentity>;
}

export interface TokenServiceOptions {
  /** Lifetime of issued tokens (default 15 minutes). */
  ttlSeconds?: number;
  /** Milliseconds clock; tests inject one to expire tokens without waiting. */
  now?: () => number;
  /** The player's current token generation (null: no such player); without it nothing is revoked. */
  generationOf?: (playerId: string) => Promise<number | null>;
}

export interface SecretOptions {
  /** LOOM_SECRET: used as is when set (at least 32 characters). */
  secret?: string;
  /** Where a generated secret is kept between starts (default `./data`). */
  dataDir?: string;
}

/**
 * The signing key: LOOM_SECRET when given, else the one in `<dataDir>/secret`, generated (32
 * random bytes, base64url) on first start. The file's text is the key, exactly as LOOM_SECRET
 * would be, so it can be copied into LOOM_SECRET to share it between processes.
 */
export async function loadSecret(options: SecretOptions = {}): Promise<Uint8Array> {
  if (options.secret !== undefined && options.secret !== "")
    return secretBytes(options.secret, "LOOM_SECRET");
  const dir = options.dataDir ?? "data";
  const path = join(dir, "secret");
  // only this user may read the folder the key lives in (the file itself is 0600)
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Written aside and linked into place: link fails if the file exists, so two processes starting
  // at once agree on one secret and neither ever reads a half-written file.
  const pending = join(dir, `secret.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  await writeFile(pending, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  try {
    await link(pending, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(pending);
  }
  return secretBytes((await readFile(path, "utf8")).trim(), path);
}

function secretBytes(secret: string, source: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`the secret from ${source} must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return new TextEncoder().encode(secret);
}

/** What a verified token says. */
interface Claims {
  sub: string;
  name: string;
  gen: number;
  exp: number;
}

/** Verified tokens remembered at most (the oldest make room). */
const VERIFIED_TOKENS = 10_000;

export function createTokenService(secret: Uint8Array, options: TokenServiceOptions = {}): TokenService {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)
    throw new RangeError(`token TTL must be ≥ 1 s, got ${ttlSeconds}`);

  /**
   * Tokens whose signature and claims were checked, by their exact text: every request and join
   * presents one, and an HMAC check through WebCrypto costs far more than the lookup. Only the
   * signature is remembered; expiry and revocation are checked on every use.
   */
  const verified = new Map<string, Claims>();
  const checkSignature = async (token: string): Promise<Claims> => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, secret, {
        algorithms: ["HS256"],
        issuer: TOKEN_ISSUER,
        requiredClaims: ["sub", "exp"],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw authError(error);
    }
    const { sub, name, gen = 0, exp } = payload;
    if (!sub || typeof name !== "string" || name === "") {
      throw new AuthError("invalid_claims", "the token does not name a player");
    }
    if (typeof gen !== "number" || !Number.isInteger(gen) || gen < 0)
      throw new AuthError("invalid_claims", `the token's "gen" claim is invalid`);
    const claims = { sub, name, gen, exp: exp! };
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
    verified.set(token, claims);
    return claims;
  };

  return {
    ttlSeconds,
    async issue(playerId, name, generation = 0) {
      if (!playerId || !name) throw new TypeError("a token needs a player id and a name");
      const issuedAt = Math.floor(now() / 1000);
      return new SignJWT({ name, gen: generation })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer(TOKEN_ISSUER)
        .setSubject(playerId)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .sign(secret);
    },

    async verify(token) {
      if (typeof token !== "string" || token.trim() === "")
        throw new AuthError("missing", "no token was presented");
      const claims = verified.get(token) ?? (await checkSignature(token));
      // a remembered token still expires on time; jose's rule, to the second
      if (claims.exp <= Math.floor(now() / 1000)) {
        verified.delete(token);
        throw new AuthError("expired", "the token has expired");
      }
      const { sub, name, gen } = claims;
      if (options.generationOf) {
        const current = await options.generationOf(sub);
        if (current === null) throw new AuthError("revoked", "the token's player does not exist");
        if (gen !== current) throw new AuthError("revoked", REFUSAL_WORDS.sessionRevoked);
      }
      return { playerId: sub, name, generation: gen };
    },
  };
}

function authError(error: unknown): Error {
  if (error instanceof errors.JWTExpired)
    return new AuthError("expired", "the token has expired", { cause: error });
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError("bad_signature", "the token was not signed by this server", { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthError("invalid_claims", `the token's "${error.claim}" claim is invalid`, { cause: error });
  }
  if (error instanceof errors.JOSEError)
    return new AuthError("malformed", "the token is malformed", { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
