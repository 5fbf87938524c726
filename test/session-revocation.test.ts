import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import { RedisPresence } from "@colyseus/redis-presence";
import { CloseCode } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, overcome, sheet } from "./support/players.ts";
import { announceRevocation } from "../server/src/rooms/revocations.ts";
import type { LoomServer } from "../server/src/app.ts";

const PASSWORD = "correct horse battery staple";

/** How a session ends: its close code, and whether it tried to come back after that. */
function ending(session: UniverseSession): { code: Promise<number>; triedAgain: () => boolean } {
  let ended = false;
  let triedAgain = false;
  const code = new Promise<number>((resolve) =>
    session.on("leave", (left) => {
      ended = true;
      resolve(left);
    }),
  );
  session.on("reconnecting", () => (triedAgain ||= ended));
  session.on("reconnected", () => (triedAgain ||= ended));
  return { code, triedAgain: () => triedAgain };
}

/** The close code, or a failure if the session is still open after `ms`. */
function within(code: Promise<number>, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the session was still open after ${ms} ms`)), ms);
  });
  return Promise.race([code, late]).finally(() => clearTimeout(timer));
}

async function status(url: string, path: string, token: string): Promise<number> {
  return (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function refreshStatus(url: string, refreshToken: string): Promise<number> {
  const response = await fetch(`${url}/api/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken }),
  });
  return response.status;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`revoked sessions leave the rooms (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      // a dropped seat is held long enough for a test to log out while it is empty
      server = await startServer(mode, { port: 2683, reconnectSeconds: 5 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    /** A public universe, a player with a password and a run in it, and a bystander seated there. */
    async function table(name: string) {
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: `${name}'s table`, visibility: "public" });
      const login = `${name} ${Date.now()}`;
      const victim = connect(server.url);
      const { player } = await victim.registerPlayer(login, { password: PASSWORD });
      const { character, run } = await victim.createCharacter(universe.id, sheet(name));
      const bystander = connect(server.url);
      await bystander.registerPlayer("Bystander");
      const theirs = await bystander.createCharacter(universe.id, sheet("Bystander"));
      const seated = await bystander.joinUniverse(universe.id, { role: "player", runId: theirs.run.id });
      const bystanderAct = () =>
        seated.act({ kind: "custom", characterId: theirs.character.id, text: "keeps watch" });
      return { universe, login, victim, playerId: player.id, character, run, seated, bystanderAct };
    }

    /** Another device holding the victim's access token, as whoever stole it would. */
    function thief(victim: LoomClient): LoomClient {
      return connect(server.url).useToken(victim.playerToken!, null);
    }

    function connectedAs(universeId: string, playerId: string): boolean {
      const room = matchMaker.getLocalRoomById(universeId);
      return room.clients.some((client) => (client.auth as { playerId?: string })?.playerId === playerId);
    }

    it("logging out everywhere closes every live connection made with the old tokens, and only those", async () => {
      // given someone with the victim's token seated at the table and watching it too
      const t = await table("Ada");
      const stolen = thief(t.victim);
      const seat = await stolen.joinUniverse(t.universe.id, { role: "player", runId: t.run.id });
      const watch = await stolen.joinUniverse(t.universe.id, { role: "spectator" });
      const seatEnd = ending(seat);
      const watchEnd = ending(watch);
      let bystanderLeft = false;
      t.seated.on("leave", () => (bystanderLeft = true));

      // when the victim logs out everywhere from their own device
      await t.victim.logoutAll();

      // then both connections close for good, with the code that says why
      expect(await within(seatEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      expect(await within(watchEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seatEnd.triedAgain() || watchEnd.triedAgain()).toBe(false);
      expect(connectedAs(t.universe.id, t.playerId)).toBe(false);
      // and the other player at the table plays on
      expect(bystanderLeft).toBe(false);
      expect((await t.bystanderAct()).ok).toBe(true);
      // and the victim's password opens a new session that plays the same run
      const back = connect(server.url);
      await back.login(t.login, PASSWORD);
      const again = await back.joinUniverse(t.universe.id, { role: "player", runId: t.run.id });
      expect((await again.act({ kind: "custom", characterId: t.character.id, text: "returns" })).ok).toBe(
        true,
      );
      await again.leave();
      await t.seated.leave();
    });

    it("a connection lost before the log-out does not get its seat back", async () => {
      // given a stolen token's seat whose connection is lost and held for it
      const t = await table("Bea");
      const seat = await thief(t.victim).joinUniverse(t.universe.id, { role: "player", runId: t.run.id });
      const seatEnd = ending(seat);
      let loggedOut!: () => void;
      void breakUntil(seat, new Promise<void>((resolve) => (loggedOut = resolve)));
      await waitFor(
        () => !connectedAs(t.universe.id, t.playerId),
        5_000,
        "the room to see the connection lost",
      );

      // when the victim logs out everywhere while the seat is empty, and the connection comes back
      await t.victim.logoutAll();
      loggedOut();

      // then its reconnection is refused, and the session ends there
      expect(await within(seatEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seatEnd.triedAgain()).toBe(false);
      expect(connectedAs(t.universe.id, t.playerId)).toBe(false);
      expect((await t.bystanderAct()).ok).toBe(true);
      await t.seated.leave();
    });

    it("changing the password closes the connections made with earlier tokens, the caller's own too", async () => {
      const t = await table("Cy");
      const seat = await thief(t.victim).joinUniverse(t.universe.id, { role: "player", runId: t.run.id });
      const own = await t.victim.joinUniverse(t.universe.id, { role: "spectator" });
      const seatEnd = ending(seat);
      const ownEnd = ending(own);

      await t.victim.setPassword("a brand new passphrase", { currentPassword: PASSWORD });

      expect(await within(seatEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      expect(await within(ownEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      expect(connectedAs(t.universe.id, t.playerId)).toBe(false);
      expect((await t.bystanderAct()).ok).toBe(true);
      // the caller holds the new session, and joins again with it
      const again = await t.victim.joinUniverse(t.universe.id, { role: "player", runId: t.run.id });
      expect((await again.act({ kind: "custom", characterId: t.character.id, text: "returns" })).ok).toBe(
        true,
      );
      await again.leave();
      await t.seated.leave();
    });

    it("setting a first password ends the sessions from before it and answers with a new one", async () => {
      // given a player registered with a name alone, whose tokens someone else holds too
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Open Door", visibility: "public" });
      const legacy = connect(server.url);
      await legacy.registerPlayer(`Dov ${Date.now()}`);
      const oldAccess = legacy.playerToken!;
      const oldRefresh = legacy.refreshToken!;
      const watch = await thief(legacy).joinUniverse(universe.id, { role: "spectator" });
      const watchEnd = ending(watch);

      // when the player sets a password
      const answer = await fetch(`${server.url}/api/me/password`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${oldAccess}` },
        body: JSON.stringify({ password: PASSWORD }),
      });

      // then the answer is a new session
      expect(answer.status).toBe(200);
      const session = (await answer.json()) as { token?: string; refreshToken?: string; login?: string };
      expect(session.login).toBeTruthy();
      expect(session.token).toBeTruthy();
      expect(session.refreshToken).toBeTruthy();
      expect(await status(server.url, "/api/me", session.token!)).toBe(200);
      // and every earlier token is dead, the live connection made with one closed
      expect(await refreshStatus(server.url, oldRefresh)).toBe(401);
      expect(await status(server.url, "/api/me", oldAccess)).toBe(401);
      expect(await within(watchEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
      expect(await refreshStatus(server.url, session.refreshToken!)).toBe(200);
    });

    it("the SDK keeps the new session after setting a first password", async () => {
      const legacy = connect(server.url);
      await legacy.registerPlayer(`Eli ${Date.now()}`);
      const oldRefresh = legacy.refreshToken!;
      await legacy.setPassword(PASSWORD);
      expect(legacy.refreshToken).not.toBe(oldRefresh);
      await expect(legacy.me()).resolves.toMatchObject({ account: { hasPassword: true } });
      expect(await refreshStatus(server.url, oldRefresh)).toBe(401);
    });

    // processes hear each other through Redis: one process alone has no other to hear
    if (mode.redisUrl)
      it("a log-out handled by another process closes the connections to this one's rooms", async () => {
        // given a stolen token watching a table on this process, its generation read here
        const t = await table("Fay");
        const oldAccess = t.victim.playerToken!;
        const watch = await thief(t.victim).joinUniverse(t.universe.id, { role: "spectator" });
        const watchEnd = ending(watch);
        expect(await status(server.url, "/api/me", oldAccess)).toBe(200);

        // when another process revokes the tokens and announces it through Redis
        const generation = await server.services.accountStore.revokeAll(t.playerId, new Date());
        const elsewhere = new RedisPresence(mode.redisUrl!);
        try {
          await announceRevocation(elsewhere, { playerId: t.playerId, generation });
        } finally {
          elsewhere.shutdown();
        }

        // then this process closes the connection, and refuses the token without waiting to
        // read the generation again
        expect(await within(watchEnd.code, 5_000)).toBe(CloseCode.SessionRevoked);
        expect(await status(server.url, "/api/me", oldAccess)).toBe(401);
        expect((await t.bystanderAct()).ok).toBe(true);
        await t.seated.leave();
      });
  });

  describe.skipIf(!mode.available)(`seats checked again without any message (${mode.name})`, () => {
    const CHECK_MS = 300;
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2683, seatCheckMs: CHECK_MS });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a log-out, a removal and a universe turned private that no message announced close the seats they end", async () => {
      // given a public table: a player with a stolen token seated, a member, a guest and the GM
      const gm = connect(server.url);
      await gm.registerPlayer("Keeper");
      const universe = await gm.createUniverse({ name: "Quiet Wire", visibility: "public" });
      const table = await gm.joinUniverse(universe.id, { role: "gm" });
      const victim = connect(server.url);
      const { player: victimPlayer } = await victim.registerPlayer(`Gil ${Date.now()}`, {
        password: PASSWORD,
      });
      const theirs = await victim.createCharacter(universe.id, sheet("Gil"));
      const stolen = await connect(server.url)
        .useToken(victim.playerToken!, null)
        .joinUniverse(universe.id, { role: "player", runId: theirs.run.id });
      const member = connect(server.url);
      const { player: memberPlayer } = await member.registerPlayer("Hal");
      const mine = await member.createCharacter(universe.id, sheet("Hal"));
      const playing = await member.joinUniverse(universe.id, { role: "player", runId: mine.run.id });
      const guest = connect(server.url);
      await guest.registerPlayer("Ivo");
      const watching = await guest.joinUniverse(universe.id, { role: "spectator" });
      const stolenEnd = ending(stolen);
      const playingEnd = ending(playing);
      const watchingEnd = ending(watching);
      let gmLeft = false;
      table.on("leave", () => (gmLeft = true));

      // when the database changes under the room with nothing sent to it (as when another
      // process made the change while this one was cut off from Redis): first a log-out
      await server.services.accountStore.revokeAll(victimPlayer.id, new Date());
      // then the revoked connection closes at the next check, and nobody else's
      expect(await within(stolenEnd.code, CHECK_MS * 10)).toBe(CloseCode.SessionRevoked);
      await new Promise((resolve) => setTimeout(resolve, CHECK_MS * 2));
      expect(stolenEnd.triedAgain()).toBe(false);
      expect((await playing.act(overcome(mine.character.id))).ok).toBe(true);

      // when the member is removed
      await server.services.memberships.removeMember(universe.id, memberPlayer.id);
      expect(await within(playingEnd.code, CHECK_MS * 10)).toBe(CloseCode.MemberRemoved);
      await new Promise((resolve) => setTimeout(resolve, CHECK_MS * 2));
      expect(playingEnd.triedAgain()).toBe(false);

      // when the universe turns private: the guest leaves, the game master stays
      await server.services.memberships.setVisibility(universe.id, "private");
      expect(await within(watchingEnd.code, CHECK_MS * 10)).toBe(CloseCode.MemberRemoved);
      await new Promise((resolve) => setTimeout(resolve, CHECK_MS * 2));
      expect(gmLeft).toBe(false);
      expect((await table.act({ kind: "world_event", text: "The wire goes quiet" })).ok).toBe(true);
      await table.leave();
    });
  });
}
