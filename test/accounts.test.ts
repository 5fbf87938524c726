import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, LoomError, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const PASSWORD = "correct horse battery staple";

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  headers: Headers;
}

async function post(
  url: string,
  path: string,
  body: unknown,
  token?: string,
  forwardedFor?: string,
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (forwardedFor) headers["x-forwarded-for"] = forwardedFor;
  const response = await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return {
    status: response.status,
    body: (await response.json()) as Answer["body"],
    headers: response.headers,
  };
}

async function get(url: string, path: string, token: string): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    body: (await response.json()) as Answer["body"],
    headers: response.headers,
  };
}

async function failure(promise: Promise<unknown>): Promise<LoomError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(LoomError);
  return error as LoomError;
}

/** Joins the run's universe and takes one turn with its character; the turn must be accepted. */
async function playOnce(client: LoomClient, universeId: string, runId: string, characterId: string) {
  const session = await client.joinUniverse(universeId, { role: "player", runId });
  const result = await session.act({ kind: "custom", characterId, text: "walks the causeway" });
  await session.leave();
  if (!result.ok) throw new Error(`turn refused: ${result.rejection.code}`);
  return result.turn;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`accounts (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let skew = 0; // the server's clock runs this far ahead of the real one
    beforeAll(async () => {
      server = await startServer(mode, { port: 2630, clock: () => Date.now() + skew });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a player registers with a password, plays, logs out, and a month later logs back in to the same character", async () => {
      // given a universe and a player who registered with a password and played a turn
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "The Long Campaign", visibility: "public" });
      const name = `Wren ${Date.now()}`;
      const alice = connect(server.url);
      const { player } = await alice.registerPlayer(name, { password: PASSWORD });
      const { character, run } = await alice.createCharacter(universe.id, sheet("Wren"));
      const first = await playOnce(alice, universe.id, run.id, character.id);
      expect(first.characterId).toBe(character.id);
      // and a second device that logged in and was then left alone
      const tablet = connect(server.url);
      await tablet.login(name, PASSWORD);
      const tabletRefresh = tablet.refreshToken!;
      const oldAccess = alice.playerToken!;
      const oldRefresh = alice.refreshToken!;

      // when the player logs out on this device
      await alice.logout();
      // then its refresh token is dead at once
      const afterLogout = await post(server.url, "/api/auth/refresh", { refreshToken: oldRefresh });
      expect(afterLogout.status).toBe(401);
      expect(afterLogout.body.token).toBeUndefined();

      // when a month passes
      skew += 31 * DAY;
      // then the old access token and the untouched device's refresh token have expired
      const stale = await get(server.url, "/api/me", oldAccess);
      expect(stale.status).toBe(401);
      expect(stale.body.error?.code).toBe("token_expired");
      const tabletAnswer = await post(server.url, "/api/auth/refresh", { refreshToken: tabletRefresh });
      expect(tabletAnswer.status).toBe(401);
      expect(tabletAnswer.body.error?.code).toBe("token_expired");

      // and a wrong password gets a coded 401 and no token
      const wrong = await post(server.url, "/api/auth/login", { name, password: "not the password" });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error?.code).toBe("invalid_credentials");
      expect(wrong.body.token).toBeUndefined();
      expect(wrong.body.refreshToken).toBeUndefined();
      const unknown = await post(server.url, "/api/auth/login", { name: `${name} x`, password: PASSWORD });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error?.code).toBe("invalid_credentials");

      // when the player logs in with the password (the name is case-insensitive)
      const back = connect(server.url);
      const login = await back.login(name.toUpperCase(), PASSWORD);
      // then they are the same player with the same run, and play the same character
      expect(login.player.id).toBe(player.id);
      const me = await back.me();
      expect(me.runs.map((r) => r.id)).toContain(run.id);
      const later = await playOnce(back, universe.id, run.id, character.id);
      expect(later.characterId).toBe(character.id);
      expect(later.position).toBeGreaterThan(first.position);
    });

    it("the SDK refreshes an expired access token once, for HTTP calls and for joining a room", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Refreshing", visibility: "public" });
      const client = connect(server.url);
      await client.registerPlayer(`Ivo ${Date.now()}`, { password: PASSWORD });
      const { character, run } = await client.createCharacter(universe.id, sheet("Ivo"));
      const firstAccess = client.playerToken;
      const firstRefresh = client.refreshToken;

      skew += 20 * MINUTE;
      const raw = await get(server.url, "/api/me", firstAccess!);
      expect(raw.body.error?.code).toBe("token_expired");
      await expect(client.run(run.id)).resolves.toMatchObject({ id: run.id });
      expect(client.playerToken).not.toBe(firstAccess);
      expect(client.refreshToken).not.toBe(firstRefresh);

      skew += 20 * MINUTE;
      await expect(playOnce(client, universe.id, run.id, character.id)).resolves.toMatchObject({
        characterId: character.id,
      });
    });

    it("refresh tokens rotate; presenting a rotated one revokes its whole family", async () => {
      const name = `Oda ${Date.now()}`;
      const registered = await post(server.url, "/api/players", { name, password: PASSWORD });
      expect(registered.status).toBe(201);
      const r1 = registered.body.refreshToken as string;
      const second = await post(server.url, "/api/auth/refresh", { refreshToken: r1 });
      expect(second.status).toBe(200);
      const r2 = second.body.refreshToken as string;
      expect(r2).not.toBe(r1);
      expect((await get(server.url, "/api/me", second.body.token as string)).status).toBe(200);

      // when the rotated token is replayed (stolen and used by someone else) after the reuse grace
      skew += 31_000;
      const replay = await post(server.url, "/api/auth/refresh", { refreshToken: r1 });
      expect(replay.status).toBe(401);
      expect(replay.body.token).toBeUndefined();
      // then the newest token of that family is revoked too
      const next = await post(server.url, "/api/auth/refresh", { refreshToken: r2 });
      expect(next.status).toBe(401);
      // and another login's family is untouched
      const other = await post(server.url, "/api/auth/login", { name, password: PASSWORD });
      expect(other.status).toBe(200);
      expect(
        (await post(server.url, "/api/auth/refresh", { refreshToken: other.body.refreshToken })).status,
      ).toBe(200);
    });

    it("logout-all revokes every device's refresh tokens and access tokens, for HTTP and rooms", async () => {
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Everywhere", visibility: "public" });
      const name = `Sol ${Date.now()}`;
      const phone = connect(server.url);
      await phone.registerPlayer(name, { password: PASSWORD });
      const { run } = await phone.createCharacter(universe.id, sheet("Sol"));
      const laptop = connect(server.url);
      await laptop.login(name, PASSWORD);
      const phoneAccess = phone.playerToken!;
      const phoneRefresh = phone.refreshToken!;

      await laptop.logoutAll();

      const me = await get(server.url, "/api/me", phoneAccess);
      expect(me.status).toBe(401);
      expect(me.body.error?.code).toBe("unauthorized");
      expect((await post(server.url, "/api/auth/refresh", { refreshToken: phoneRefresh })).status).toBe(401);
      const join = await failure(phone.joinUniverse(universe.id, { role: "player", runId: run.id }));
      expect(join.code).toBe("unauthorized");
      // the room itself refuses the revoked token too (the universe is open; join it directly)
      await laptop.login(name, PASSWORD);
      expect(
        (await post(server.url, `/api/universes/${universe.id}/open`, {}, laptop.playerToken!)).status,
      ).toBe(200);
      phone.colyseus.auth.token = phoneAccess;
      const direct = await phone.colyseus.joinById(universe.id, { role: "player", runId: run.id }).then(
        () => "joined",
        (error: unknown) => String(error),
      );
      expect(direct).toMatch(/unauthorized/);
      await laptop.logoutAll();
      expect(laptop.playerToken).toBeNull();
      // and the password still opens a new session
      const again = connect(server.url);
      await again.login(name, PASSWORD);
      await expect(again.run(run.id)).resolves.toMatchObject({ id: run.id });
    });

    it("a password change ends the logins checked with the old password while it was made; of two changes at once, one is made", async () => {
      const name = `Vale ${Date.now()}`;
      const owner = connect(server.url);
      await owner.registerPlayer(name, { password: PASSWORD });
      // someone who knows the old password logs in again and again while the owner changes it:
      // each login checks the password for tens of milliseconds, the change among them
      const pause = () => new Promise((resolve) => setTimeout(resolve, 25));
      const logins: Array<Promise<Answer>> = [];
      let change: Promise<Answer> | null = null;
      for (let i = 0; i < 8; i++) {
        logins.push(post(server.url, "/api/auth/login", { name, password: PASSWORD }));
        if (i === 2)
          change = post(
            server.url,
            "/api/me/password",
            { password: "a brand new passphrase", currentPassword: PASSWORD },
            owner.playerToken!,
          );
        await pause();
      }
      const changed = await change!;
      expect(changed.status).toBe(200);
      const answers = await Promise.all(logins);
      for (const answer of answers) {
        if (answer.status !== 200) {
          expect(answer.body.error?.code).toBe("invalid_credentials");
          continue;
        }
        const refreshed = await post(server.url, "/api/auth/refresh", {
          refreshToken: answer.body.refreshToken,
        });
        expect(refreshed.status).toBe(401);
      }

      // two changes from two sessions at once, each made against the same current password
      const devices = [connect(server.url), connect(server.url)];
      for (const device of devices) await device.login(name, "a brand new passphrase");
      const both = await Promise.all(
        devices.map((device, i) =>
          post(
            server.url,
            "/api/me/password",
            { password: `passphrase number ${i}`, currentPassword: "a brand new passphrase" },
            device.playerToken!,
          ),
        ),
      );
      expect(both.map((answer) => answer.status).sort()).toEqual([200, 401]);
      const made = both.findIndex((answer) => answer.status === 200);
      await expect(connect(server.url).login(name, `passphrase number ${made}`)).resolves.toBeTruthy();
      expect((await failure(connect(server.url).login(name, `passphrase number ${1 - made}`))).code).toBe(
        "invalid_credentials",
      );
    });

    it("the Authorization scheme is read whatever its case; a malformed id in a path is refused by its name", async () => {
      const client = connect(server.url);
      await client.registerPlayer(`Casual ${Date.now()}`);
      for (const scheme of ["bearer", "BEARER", "Bearer"]) {
        const response = await fetch(`${server.url}/api/me`, {
          headers: { authorization: `${scheme} ${client.playerToken!}` },
        });
        expect(response.status, scheme).toBe(200);
      }
      const long = await post(server.url, `/api/invites/${"x".repeat(65)}/accept`, {}, client.playerToken!);
      expect(long.status).toBe(400);
      expect(long.body.error).toMatchObject({
        code: "invalid_message",
        message: expect.stringMatching(/^path parameter code: /) as string,
      });
    });

    it("an endpoint asked with a method it does not answer is 405 naming those it does; oversized headers get a coded body", async () => {
      const wrong = await fetch(`${server.url}/api/auth/login`);
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get("allow")).toBe("POST");
      expect(await wrong.json()).toMatchObject({ error: { code: "method_not_allowed" } });
      const universe = await fetch(`${server.url}/api/universes/u-1`, { method: "PUT" });
      expect(universe.status).toBe(405);
      expect(universe.headers.get("allow")).toContain("GET");
      const nowhere = await fetch(`${server.url}/api/no-such-thing`, { method: "POST" });
      expect(nowhere.status).toBe(404);
      expect(await nowhere.json()).toMatchObject({ error: { code: "not_found" } });

      const huge = await fetch(`${server.url}/api/me`, { headers: { "x-padding": "p".repeat(20_000) } });
      expect(huge.status).toBe(431);
      expect(await huge.json()).toMatchObject({
        error: { code: "payload_too_large", message: expect.stringMatching(/headers/) as string },
      });
      const { port } = new URL(server.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = createConnection(Number(port), "127.0.0.1", () =>
          socket.write("NOT HTTP AT ALL\r\n\r\n"),
        );
        let text = "";
        socket.on("data", (chunk) => (text += String(chunk)));
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({
        error: { code: "invalid_message" },
      });
      // the server still answers
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });

    it("a player registered without a password keeps working and can set one; login names are unique", async () => {
      const name = `Pim ${Date.now()}`;
      const legacy = connect(server.url);
      const { player } = await legacy.registerPlayer(name);
      await expect(legacy.me()).resolves.toMatchObject({
        player: { id: player.id },
        account: { login: null, hasPassword: false },
      });
      const noPassword = await post(server.url, "/api/auth/login", { name, password: PASSWORD });
      expect(noPassword.body.error?.code).toBe("invalid_credentials");

      await legacy.setPassword(PASSWORD);
      await expect(legacy.me()).resolves.toMatchObject({
        account: { login: name.toLowerCase(), hasPassword: true },
      });
      const login = await post(server.url, "/api/auth/login", {
        name: name.toLowerCase(),
        password: PASSWORD,
      });
      expect(login.status).toBe(200);
      expect((login.body.player as { id: string }).id).toBe(player.id);
      // a password can be changed only with the current one
      const blind = await post(
        server.url,
        "/api/me/password",
        { password: "another long password" },
        legacy.playerToken!,
      );
      expect(blind.status).toBe(400);
      expect(blind.body.error).toMatchObject({
        code: "invalid_message",
        message: expect.stringContaining("currentPassword") as string,
      });
      const wrong = await post(
        server.url,
        "/api/me/password",
        { password: "another long password", currentPassword: "not the password at all" },
        legacy.playerToken!,
      );
      expect(wrong.status).toBe(401);
      expect(wrong.body.error?.code).toBe("invalid_credentials");

      const taken = await post(server.url, "/api/players", { name: name.toUpperCase(), password: PASSWORD });
      expect(taken.status).toBe(409);
      expect(taken.body.error?.code).toBe("name_taken");
      const short = await post(server.url, "/api/players", { name: `${name}!`, password: "short" });
      expect(short.status).toBe(400);
      expect(short.body.error?.code).toBe("invalid_message");
      // nothing about the password ever comes back
      const me = await get(server.url, "/api/me", login.body.token as string);
      expect(JSON.stringify(me.body)).not.toMatch(/scrypt|password_?hash/i);
    });
  });
}

describe("HTTP rate limits", () => {
  let server: LoomServer & { url: string };
  let skew = 0;
  // the rate limits' buckets refill with the server's clock: a test counting them stops it
  let stoppedAt: number | null = null;
  const mode = modes()
    .filter((m) => m.available)
    .at(-1)!;
  beforeAll(async () => {
    server = await startServer(mode, {
      port: 2631,
      clock: () => (stoppedAt ?? Date.now()) + skew,
      // as behind a reverse proxy on this host: the client's address comes from X-Forwarded-For
      trustProxy: "loopback",
      limits: {
        registerPerIp: { burst: 5, perSeconds: 3600 },
        loginPerIp: { burst: 50, perSeconds: 60 },
        loginPerAccount: { burst: 3, perSeconds: 600 },
        writePerIp: { burst: 1000, perSeconds: 60 },
        writePerPlayer: { burst: 4, perSeconds: 60 },
        exportPerPlayer: null,
        exportsAtOnce: 2,
      },
    });
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it("a registration flood from one IP gets coded 429s with Retry-After once the bucket is empty", async () => {
    const flooder = "203.0.113.7";
    const register = (name: string, ip = flooder) =>
      post(server.url, "/api/players", { name }, undefined, ip);
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) answers.push(await register(`Flood ${i}`));
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    for (const answer of answers.slice(5)) {
      expect(answer.status).toBe(429);
      expect(answer.body.error?.code).toBe("rate_limited");
      expect(answer.body.token).toBeUndefined();
      const retryAfter = Number(answer.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
    }
    // while another address (an IPv6 one here) is not held back
    expect((await register("Neighbour", "2001:db8:1:2::5")).status).toBe(201);
    // when the time it asked for has passed, one more registration is allowed
    skew += 3600_000 / 5 + 1000;
    expect((await register("After the wait")).status).toBe(201);
    expect((await register("Too soon")).status).toBe(429);
  });

  it("a first password takes a login name at the registration rate: setting one is no faster way to learn which names are taken", async () => {
    const prober = "203.0.113.44";
    skew += 3600_000; // a fresh registration allowance
    const taken = `Taken ${Date.now()}`;
    expect(
      (await post(server.url, "/api/players", { name: taken, password: PASSWORD }, undefined, prober)).status,
    ).toBe(201);
    const nameOnly = await post(server.url, "/api/players", { name: "Nameless" }, undefined, prober);
    const token = nameOnly.body.token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await post(server.url, "/api/me/password", { password: PASSWORD, login: taken }, token, prober))
          .status,
      );
    // two of the address's five went to the registrations; three probes, then the bucket is empty
    expect(statuses).toEqual([409, 409, 409, 429, 429]);
  });

  it("guessing one account's password is limited per account and address, and from all addresses together", async () => {
    const name = `Target ${Date.now()}`;
    skew += 3600_000; // a fresh registration allowance
    stoppedAt = Date.now(); // however slow the machine, no bucket refills during the count
    expect((await post(server.url, "/api/players", { name, password: PASSWORD })).status).toBe(201);
    const login = (password: string, ip: string) =>
      post(server.url, "/api/auth/login", { name, password }, undefined, ip);
    const guesses = async (ip: string, count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) statuses.push((await login(`guess ${i} guess`, ip)).status);
      return statuses;
    };
    // one address: three guesses, then even the right password waits until its bucket refills
    expect(await guesses("198.51.100.1", 4)).toEqual([401, 401, 401, 429]);
    const right = await login(PASSWORD, "198.51.100.1");
    expect(right.status).toBe(429);
    expect(right.body.token).toBeUndefined();
    // the account's owner, elsewhere, is not locked out by them
    const owner = await login(PASSWORD, "192.0.2.10");
    expect(owner.status).toBe(200);
    // a password change checks the current one: it counts as a login (the write limit is 4)
    const changes: Answer[] = [];
    for (let i = 0; i < 4; i++)
      changes.push(
        await post(
          server.url,
          "/api/me/password",
          { password: "a new long passphrase", currentPassword: `guess ${i} guess` },
          owner.body.token as string,
          "203.0.113.50",
        ),
      );
    expect(changes.map((answer) => answer.status)).toEqual([401, 401, 401, 429]);
    expect(changes[3]!.body.error?.message).toContain("logins to this account from this address");
    // guesses from many addresses: ten buckets' worth (30; 7 were taken above) hold every address back
    const spread: number[] = [];
    for (let i = 2; i < 12; i++) spread.push(...(await guesses(`198.51.100.${i}`, 3)));
    expect(spread.filter((status) => status === 401)).toHaveLength(23);
    expect(spread.slice(23).every((status) => status === 429)).toBe(true);
    expect((await login(PASSWORD, "192.0.2.11")).status).toBe(429);
    skew += 600_000;
    expect((await login(PASSWORD, "192.0.2.11")).status).toBe(200);
    stoppedAt = null;
  });

  it("HTTP writes are limited per player", async () => {
    skew += 3600_000;
    const registered = await post(server.url, "/api/players", { name: `Writer ${Date.now()}` });
    const token = registered.body.token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await post(server.url, "/api/universes", { name: `World ${i}` }, token)).status);
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
    // reads are not writes
    expect((await get(server.url, "/api/me", token)).status).toBe(200);
  });
});
