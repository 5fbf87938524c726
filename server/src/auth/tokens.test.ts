import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError, createTokenService, loadSecret, type AuthErrorReason } from "./tokens.ts";

const secret = new TextEncoder().encode("a-test-secret-that-is-long-enough-for-hs256");
const otherSecret = new TextEncoder().encode("another-secret-that-is-long-enough-for-hs256");
const MINUTE_MS = 60 * 1000;

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

async function expectRejected(promise: Promise<unknown>, reason: AuthErrorReason): Promise<void> {
  const error = await rejection(promise);
  expect(error.code).toBe(reason === "expired" ? "token_expired" : "unauthorized");
  expect(error.reason).toBe(reason);
  expect(error.message.length).toBeGreaterThan(0);
}

describe("player tokens", () => {
  it("round trip: a token issued here verifies to the same player", async () => {
    const tokens = createTokenService(secret);
    const token = await tokens.issue("player-1", "Mira");
    expect(await tokens.verify(token)).toEqual({ playerId: "player-1", name: "Mira", generation: 0 });
  });

  it("a token signed with another secret is rejected", async () => {
    const token = await createTokenService(otherSecret).issue("player-1", "Mira");
    await expectRejected(createTokenService(secret).verify(token), "bad_signature");
  });

  it("a tampered token is rejected", async () => {
    // given a valid token
    const tokens = createTokenService(secret);
    const [header, payload, signature] = (await tokens.issue("player-1", "Mira")).split(".");
    // when its payload is rewritten to claim another player
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "player-2" })).toString("base64url");
    // then the signature no longer matches
    await expectRejected(tokens.verify(`${header}.${forged}.${signature}`), "bad_signature");
  });

  it("an expired token is rejected; the lifetime is configurable", async () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = createTokenService(secret, { ttlSeconds: 60 * 60, now: () => now });
    const token = await tokens.issue("player-1", "Mira");
    now += 59 * 60 * 1000;
    expect(await tokens.verify(token)).toEqual({ playerId: "player-1", name: "Mira", generation: 0 });
    now += 2 * 60 * 1000;
    await expectRejected(tokens.verify(token), "expired");
  });

  it("access tokens last 15 minutes by default, and an expired one is coded token_expired", async () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = createTokenService(secret, { now: () => now });
    const token = await tokens.issue("player-1", "Mira");
    now += 14 * MINUTE_MS;
    await expect(tokens.verify(token)).resolves.toEqual({
      playerId: "player-1",
      name: "Mira",
      generation: 0,
    });
    now += 2 * MINUTE_MS;
    const error = await rejection(tokens.verify(token));
    expect(error.reason).toBe("expired");
    expect(error.code).toBe("token_expired");
  });

  it("raising a player's generation revokes the tokens issued before; a token without one counts as 0", async () => {
    // given a player at generation 0 with a token from before generations existed
    const generations = new Map([["player-1", 0]]);
    const tokens = createTokenService(secret, {
      generationOf: async (id) => generations.get(id) ?? null,
    });
    const legacy = await new SignJWT({ name: "Mira" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("loom")
      .setSubject("player-1")
      .setExpirationTime("1h")
      .sign(secret);
    const current = await tokens.issue("player-1", "Mira", 0);
    expect(await tokens.verify(legacy)).toEqual({ playerId: "player-1", name: "Mira", generation: 0 });
    // when the player logs out everywhere
    generations.set("player-1", 1);
    // then both are revoked and a new one works
    await expectRejected(tokens.verify(legacy), "revoked");
    await expectRejected(tokens.verify(current), "revoked");
    expect(await tokens.verify(await tokens.issue("player-1", "Mira", 1))).toEqual({
      playerId: "player-1",
      name: "Mira",
      generation: 1,
    });
    // and a token for a player who does not exist proves nothing
    await expectRejected(tokens.verify(await tokens.issue("ghost", "Nobody")), "revoked");
  });

  it("a missing or malformed token is rejected", async () => {
    const tokens = createTokenService(secret);
    await expectRejected(tokens.verify(""), "missing");
    await expectRejected(tokens.verify(undefined as unknown as string), "missing");
    await expectRejected(tokens.verify("not-a-token"), "malformed");
    await expectRejected(tokens.verify("a.b.c"), "malformed");
  });

  it("a token from another issuer, another algorithm or without a name is rejected", async () => {
    const tokens = createTokenService(secret);
    const sign = (claims: Record<string, unknown>, issuer: string, alg = "HS256") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg })
        .setIssuer(issuer)
        .setSubject("p1")
        .setExpirationTime("1h")
        .sign(secret);
    await expectRejected(tokens.verify(await sign({ name: "Mira" }, "elsewhere")), "invalid_claims");
    await expectRejected(tokens.verify(await sign({ name: "Mira" }, "loom", "HS512")), "malformed");
    await expectRejected(tokens.verify(await sign({}, "loom")), "invalid_claims");
  });
});

describe("loadSecret", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "loom-secret-"));
    dirs.push(dir);
    return join(dir, "data");
  }

  it("creates the secret file once (mode 0600) and reuses it on later starts", async () => {
    // given an empty data directory
    const dir = await dataDir();
    // when the server starts twice, the first time with two loads racing
    const [first, racing] = await Promise.all([loadSecret({ dataDir: dir }), loadSecret({ dataDir: dir })]);
    const later = await loadSecret({ dataDir: dir });
    // then one 0600 secret file exists and every load gives its key
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(racing).toEqual(first);
    expect(later).toEqual(first);
    expect(await readdir(dir)).toEqual(["secret"]);
    expect((await stat(join(dir, "secret"))).mode & 0o777).toBe(0o600);
    // and tokens issued before a restart verify after it
    const token = await createTokenService(first).issue("player-1", "Mira");
    expect(await createTokenService(later).verify(token)).toEqual({
      playerId: "player-1",
      name: "Mira",
      generation: 0,
    });
  });

  it("uses LOOM_SECRET when set and writes no file", async () => {
    const dir = await dataDir();
    const key = await loadSecret({ secret: "x".repeat(40), dataDir: dir });
    expect(new TextDecoder().decode(key)).toBe("x".repeat(40));
    await expect(stat(dir)).rejects.toThrow();
  });

  it("refuses a LOOM_SECRET too short to sign with", async () => {
    await expect(loadSecret({ secret: "short" })).rejects.toThrow(/at least 32 characters/);
  });
});
