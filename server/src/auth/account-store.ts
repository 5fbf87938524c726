import type { PlayerRecord } from "@loom/shared";

/**
 * The AccountStore port: credentials, token generations and refresh tokens. One adapter over the
 * drizzle database serves Postgres and PGlite alike (persist/accounts.ts); embedded, it runs on the
 * store's worker thread with the TurnStore. Times are passed in, so a test clock governs expiry.
 */

export interface Account {
  playerId: string;
  name: string;
  login: string | null;
  passwordHash: string | null;
  generation: number;
}

export interface NewRefreshToken {
  tokenHash: string;
  playerId: string;
  familyId: string;
  createdAt: Date;
  expiresAt: Date;
}

export type RotateOutcome =
  /** grace: the token had been rotated already, and came back within the reuse grace. */
  | { status: "rotated"; account: Account; grace: boolean }
  /** unknown: never issued; revoked: logged out; reused: rotated before, so its family is now revoked. */
  | { status: "unknown" | "revoked" | "expired" | "reused" };

/** A login name someone else already has; nothing was written. */
export class NameTakenError extends Error {
  constructor(readonly login: string) {
    super(`the name "${login}" is taken`);
    this.name = "NameTakenError";
  }
}

export interface AccountStore {
  /** A player, with a login and a password hash or with neither; NameTakenError for a taken login. */
  createAccount(input: {
    id: string;
    name: string;
    login: string | null;
    passwordHash: string | null;
    createdAt: Date;
  }): Promise<PlayerRecord>;
  byLogin(login: string): Promise<Account | null>;
  byId(playerId: string): Promise<Account | null>;
  /** Null for a player that does not exist. */
  generation(playerId: string): Promise<number | null>;
  /** The generations of those of `playerIds` that exist, in one read. */
  generations(playerIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Sets the login and password hash if the hash is still `expected` (null: none yet), false if
   * it is not (another change came first, and this one, made against the old password, is void).
   * NameTakenError for a taken login.
   */
  setPassword(
    playerId: string,
    login: string,
    passwordHash: string,
    expected: string | null,
  ): Promise<boolean>;
  /** Log out everywhere: raises the generation and revokes every refresh token, atomically. */
  revokeAll(playerId: string, now: Date): Promise<number>;
  /**
   * Stores a new token (a new family at login) and drops the player's expired ones, if the
   * player's token generation is still `generation`, the one the login read with the password it
   * checked; false if not: a log-out-everywhere or a password change came between, and a login
   * made with what they ended must not outlive them.
   */
  addRefreshToken(token: NewRefreshToken, generation: number): Promise<boolean>;
  /**
   * Atomically: checks the presented token, marks it rotated and stores its successor. A token
   * rotated less than `graceMs` before `now` whose successor is unused rotates again (a renewal
   * whose answer was lost): `next` replaces that successor, which no longer renews, and presenting
   * it later revokes the family. Any other rotated token revokes its family (`reused`). A rotation
   * drops the player's expired tokens, as a login does.
   */
  rotateRefreshToken(
    tokenHash: string,
    next: Omit<NewRefreshToken, "playerId" | "familyId">,
    now: Date,
    graceMs: number,
  ): Promise<RotateOutcome>;
  /** Log out one device: revokes the presented token's family. False for an unknown token. */
  revokeFamily(tokenHash: string, now: Date): Promise<boolean>;
}
