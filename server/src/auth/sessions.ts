import { createHash, randomBytes } from "node:crypto";
import type { Account, AccountStore } from "./account-store.ts";
import type { GenerationCache } from "./generations.ts";
import { AuthError, type TokenService } from "./tokens.ts";

/**
 * What a login hands a device: a short-lived access token (`token`, the bearer token of every
 * call and room join) and a refresh token that renews it. Refresh tokens are opaque random
 * strings; the database keeps only their SHA-256, so a leaked table opens no account.
 */
export interface Session {
  player: { id: string; name: string };
  token: string;
  tokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The account's sessions were all ended while a login proved who it was: it starts none. */
export class OutdatedProofError extends Error {
  constructor() {
    super("the account was logged out everywhere (or its password changed) while this login was checked");
    this.name = "OutdatedProofError";
  }
}

export class Sessions {
  constructor(
    private readonly accounts: AccountStore,
    private readonly tokens: TokenService,
    private readonly generations: GenerationCache,
    private readonly clock: () => number,
    private readonly refreshTtlSeconds: number,
    /** How long a rotated refresh token still renews while its successor is unused (a lost answer). */
    private readonly reuseGraceSeconds: number,
    private readonly newId: () => string,
    /**
     * Tells every process that the player's tokens below `generation` are revoked: connections
     * admitted with one are open still, since a room checks a token only as it is joined.
     */
    private readonly announceRevoked: (playerId: string, generation: number) => Promise<void>,
  ) {}

  /**
   * A new session (a new refresh-token family) for an account that just proved who it is, as read
   * then: OutdatedProofError if its generation has moved on since (logged out everywhere, or its
   * password changed, while the proof was checked).
   */
  async start(account: Pick<Account, "playerId" | "name" | "generation">): Promise<Session> {
    const now = this.clock();
    const refreshToken = randomBytes(32).toString("base64url");
    const refreshExpires = new Date(now + this.refreshTtlSeconds * 1000);
    const added = await this.accounts.addRefreshToken(
      {
        tokenHash: hashRefreshToken(refreshToken),
        playerId: account.playerId,
        familyId: this.newId(),
        createdAt: new Date(now),
        expiresAt: refreshExpires,
      },
      account.generation,
    );
    if (!added) throw new OutdatedProofError();
    return this.session(account, refreshToken, refreshExpires, now);
  }

  /** Trades a refresh token for a new access token and the family's next refresh token. */
  async refresh(refreshToken: string): Promise<Session> {
    const now = this.clock();
    const next = randomBytes(32).toString("base64url");
    const expiresAt = new Date(now + this.refreshTtlSeconds * 1000);
    const outcome = await this.accounts.rotateRefreshToken(
      hashRefreshToken(refreshToken),
      { tokenHash: hashRefreshToken(next), createdAt: new Date(now), expiresAt },
      new Date(now),
      this.reuseGraceSeconds * 1000,
    );
    switch (outcome.status) {
      case "rotated":
        return this.session(outcome.account, next, expiresAt, now);
      case "expired":
        throw new AuthError("expired", "the refresh token has expired: log in again");
      case "reused":
        throw new AuthError("revoked", "the refresh token was already used: this session is now closed");
      case "revoked":
        throw new AuthError("revoked", "the refresh token was revoked (logged out)");
      case "unknown":
        throw new AuthError("malformed", "not a refresh token of this server");
    }
  }

  /** Log out this device: its refresh-token family ends. False when the token is unknown. */
  logout(refreshToken: string): Promise<boolean> {
    return this.accounts.revokeFamily(hashRefreshToken(refreshToken), new Date(this.clock()));
  }

  /**
   * Log out everywhere: every refresh token and every access token issued so far, and every live
   * connection made with one. An announcement that fails fails the call: the tokens are revoked,
   * but whoever holds a seat with one may still be in it, and the caller should try again.
   */
  async logoutAll(playerId: string): Promise<void> {
    const generation = await this.accounts.revokeAll(playerId, new Date(this.clock()));
    this.generations.set(playerId, generation);
    await this.announceRevoked(playerId, generation);
  }

  private async session(
    account: Pick<Account, "playerId" | "name" | "generation">,
    refreshToken: string,
    refreshExpires: Date,
    now: number,
  ): Promise<Session> {
    return {
      player: { id: account.playerId, name: account.name },
      token: await this.tokens.issue(account.playerId, account.name, account.generation),
      tokenExpiresAt: new Date(Math.floor(now / 1000) * 1000 + this.tokens.ttlSeconds * 1000).toISOString(),
      refreshToken,
      refreshTokenExpiresAt: refreshExpires.toISOString(),
    };
  }
}
