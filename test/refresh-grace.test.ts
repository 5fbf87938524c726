import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { loadConfig } from "../server/src/config.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * A renewal whose answer is lost (the tab that renewed closed before storing the new pair, or a
 * mobile network dropped the response and the client retried) presents the rotated refresh token
 * again. Within the reuse grace, while its successor is unused, that renews instead of logging the
 * player out on every device of the login; a token presented after its successor was used, or
 * after the grace, still revokes its family.
 */

const PASSWORD = "correct horse battery staple";
const GRACE_SECONDS = 30;

interface Answer {
  status: number;
  body: { token?: string; refreshToken?: string; error?: { code: string; message: string } };
}

async function renew(url: string, refreshToken: string): Promise<Answer> {
  const response = await fetch(`${url}/api/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

async function meStatus(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status;
}

/** A player with a password; the refresh and access tokens of the registration's login. */
async function register(url: string, name: string): Promise<{ refreshToken: string; token: string }> {
  const response = await fetch(`${url}/api/players`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password: PASSWORD }),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { refreshToken: string; token: string };
  return body;
}

function expectRenewed(answer: Answer): { refreshToken: string; token: string } {
  expect(answer.status, answer.body.error?.message).toBe(200);
  return { refreshToken: answer.body.refreshToken!, token: answer.body.token! };
}

function expectReused(answer: Answer): void {
  expect(answer.status).toBe(401);
  expect(answer.body.error?.code).toBe("unauthorized");
  expect(answer.body.error?.message).toMatch(/already used/);
  expect(answer.body.token).toBeUndefined();
}

function expectRevoked(answer: Answer): void {
  expect(answer.status).toBe(401);
  expect(answer.body.error?.code).toBe("unauthorized");
  expect(answer.body.error?.message).toMatch(/revoked/);
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a lost renewal answer (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let skew = 0; // the server's clock runs this far ahead of the real one
    beforeAll(async () => {
      server = await startServer(mode, { port: 2653, clock: () => Date.now() + skew });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("renewing again with the old token renews, and logs out no device; a stale token still revokes the login", async () => {
      // given a player logged in on a phone, and on a laptop that renews through the SDK
      const name = `Nia ${Date.now()}`;
      const phone = await register(server.url, name);
      const laptop = connect(server.url);
      await laptop.login(name, PASSWORD);

      // when the phone renews, loses the answer, and renews again with the same token
      const lost = expectRenewed(await renew(server.url, phone.refreshToken));
      const retried = expectRenewed(await renew(server.url, phone.refreshToken));

      // then the phone has a working pair, its login's earlier access token still works
      expect(retried.refreshToken).not.toBe(lost.refreshToken);
      expect(await meStatus(server.url, retried.token)).toBe(200);
      expect(await meStatus(server.url, phone.token)).toBe(200);
      // and the phone's login goes on renewing
      const next = expectRenewed(await renew(server.url, retried.refreshToken));
      expect(await meStatus(server.url, next.token)).toBe(200);
      // and the laptop's login was not touched
      await laptop.refreshSession();
      await expect(laptop.me()).resolves.toMatchObject({ player: { name } });

      // when the token from before the lost answer comes back after its successor was used
      expectReused(await renew(server.url, phone.refreshToken));
      // then the phone's login is revoked, and the laptop's is not
      expectRevoked(await renew(server.url, next.refreshToken));
      await laptop.refreshSession();
      await expect(laptop.me()).resolves.toMatchObject({ player: { name } });
    });

    it("the pair a lost answer carried, presented after the grace renewal, revokes the login", async () => {
      const name = `Oren ${Date.now()}`;
      const phone = await register(server.url, name);
      const lost = expectRenewed(await renew(server.url, phone.refreshToken));
      const retried = expectRenewed(await renew(server.url, phone.refreshToken));
      // whoever still holds the answer that was thought lost is not the one who renewed again
      expectReused(await renew(server.url, lost.refreshToken));
      expectRevoked(await renew(server.url, retried.refreshToken));
    });

    it("a rotated token presented again after the grace revokes the login", async () => {
      const name = `Pell ${Date.now()}`;
      const phone = await register(server.url, name);
      const renewed = expectRenewed(await renew(server.url, phone.refreshToken));
      skew += GRACE_SECONDS * 1000 + 1000;
      expectReused(await renew(server.url, phone.refreshToken));
      expectRevoked(await renew(server.url, renewed.refreshToken));
    });

    it("two renewals with one token at the same instant both renew, and only the later pair lives on", async () => {
      const name = `Quill ${Date.now()}`;
      const phone = await register(server.url, name);
      const answers = await Promise.all([
        renew(server.url, phone.refreshToken),
        renew(server.url, phone.refreshToken),
      ]);
      const pairs = answers.map(expectRenewed);
      // one pair was set aside by the other renewal: presenting each in turn, no two renew
      const statuses = [];
      for (const pair of pairs) statuses.push((await renew(server.url, pair.refreshToken)).status);
      expect([
        [200, 401],
        [401, 401],
      ]).toContainEqual(statuses);
    });
  });
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`with the reuse grace off (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, {
        port: 2654,
        refreshReuseGraceSeconds: loadConfig({ LOOM_REFRESH_REUSE_GRACE_SECONDS: "0" })
          .refreshReuseGraceSeconds,
      });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a lost answer's token presented again revokes the login, as any reuse", async () => {
      const phone = await register(server.url, `Rook ${Date.now()}`);
      const lost = expectRenewed(await renew(server.url, phone.refreshToken));
      expectReused(await renew(server.url, phone.refreshToken));
      expectRevoked(await renew(server.url, lost.refreshToken));
    });
  });
}

describe("LOOM_REFRESH_REUSE_GRACE_SECONDS", () => {
  it("is 30 seconds unless set; 0 turns the grace off; anything but 0–3600 whole seconds is refused", () => {
    expect(loadConfig({}).refreshReuseGraceSeconds).toBe(GRACE_SECONDS);
    expect(loadConfig({ LOOM_REFRESH_REUSE_GRACE_SECONDS: "0" }).refreshReuseGraceSeconds).toBe(0);
    expect(loadConfig({ LOOM_REFRESH_REUSE_GRACE_SECONDS: "120" }).refreshReuseGraceSeconds).toBe(120);
    for (const bad of ["-1", "1.5", "soon", "3601"])
      expect(() => loadConfig({ LOOM_REFRESH_REUSE_GRACE_SECONDS: bad })).toThrow(
        /LOOM_REFRESH_REUSE_GRACE_SECONDS/,
      );
  });
});
