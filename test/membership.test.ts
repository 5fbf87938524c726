import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import { CloseCode } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, overcome, sheet } from "./support/players.ts";
import { frame, pack, RawMember } from "./support/raw-member.ts";
import type { LoomServer } from "../server/src/app.ts";

/** A raw HTTP call: the status and the error code (if any), whatever the SDK would throw. */
async function call(
  url: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<{ status: number; code: string | null; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  const error = json.error as { code?: string } | undefined;
  return { status: response.status, code: error?.code ?? null, json };
}

async function player(url: string, name: string): Promise<{ client: LoomClient; id: string; token: string }> {
  const client = connect(url);
  const { player: me, token } = await client.registerPlayer(name);
  return { client, id: me.id, token };
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`membership (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode, { port: 2592, maxCharactersPerUniverse: 2 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a private universe refuses a non-member's reads, seat and character; an invite lets them in", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Closed Marches" });
      expect(universe.visibility).toBe("private");
      const outsider = await player(server.url, "Outsider");
      const base = `/api/universes/${universe.id}`;

      for (const [method, path, body] of [
        ["GET", base, undefined],
        ["GET", `${base}/timeline`, undefined],
        ["GET", `${base}/turns/1`, undefined],
        ["POST", `${base}/open`, {}],
        ["POST", `${base}/characters`, sheet("Intruder")],
      ] as const) {
        const answer = await call(server.url, method, path, outsider.token, body);
        expect(answer, `${method} ${path}`).toMatchObject({ status: 403, code: "not_a_member" });
      }
      expect((await call(server.url, "GET", base, null)).status).toBe(401);
      await call(server.url, "POST", `${base}/open`, gm.token, {});
      await expect(outsider.client.colyseus.joinById(universe.id, { role: "spectator" })).rejects.toThrow(
        /not_a_member/,
      );
      const listed = await outsider.client.listUniverses();
      expect(listed.map((u) => u.id)).not.toContain(universe.id);

      const invite = await gm.client.createInvite(universe.id);
      const accepted = await outsider.client.acceptInvite(invite.code);
      expect(accepted.universe.id).toBe(universe.id);
      expect((await outsider.client.listUniverses()).map((u) => u.id)).toContain(universe.id);
      const { character, run } = await outsider.client.createCharacter(universe.id, sheet("Guest"));
      const session = await outsider.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      expect((await session.act(overcome(character.id))).ok).toBe(true);
      const spectator = await outsider.client.joinUniverse(universe.id, { role: "spectator" });
      expect((await outsider.client.history(universe.id)).turns.length).toBeGreaterThan(0);
      await spectator.leave();
      await session.leave();
    });

    it("invite codes can be limited and revoked; a public universe is open to every signed-in player", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Invites" });
      const once = await gm.client.createInvite(universe.id, { maxUses: 1 });
      const first = await player(server.url, "First");
      const second = await player(server.url, "Second");
      await first.client.acceptInvite(once.code);
      await expect(second.client.acceptInvite(once.code)).rejects.toMatchObject({
        code: "invalid_invite",
        status: 404,
      });
      const revoked = await gm.client.createInvite(universe.id);
      await gm.client.revokeInvite(universe.id, revoked.code);
      await expect(second.client.acceptInvite(revoked.code)).rejects.toMatchObject({
        code: "invalid_invite",
      });
      await expect(second.client.acceptInvite("no-such-code")).rejects.toMatchObject({
        code: "invalid_invite",
      });
      // only the GM manages invites and visibility
      await expect(first.client.createInvite(universe.id)).rejects.toMatchObject({ code: "not_allowed" });
      await expect(first.client.setVisibility(universe.id, "public")).rejects.toMatchObject({
        code: "not_allowed",
      });

      await gm.client.setVisibility(universe.id, "public");
      expect((await call(server.url, "GET", `/api/universes/${universe.id}`, null)).status).toBe(200);
      expect((await call(server.url, "GET", "/api/universes", null)).json.universes).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: universe.id })]),
      );
      const { run } = await second.client.createCharacter(universe.id, sheet("Walk-in"));
      const session = await second.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      await session.leave();
      expect((await gm.client.listMembers(universe.id)).map((m) => m.playerId)).toEqual(
        expect.arrayContaining([first.id, second.id]),
      );
    });

    it("a game master accepting their own universe's invite is in already: it is not used up, nobody is added, its player still gets in", async () => {
      const gm = await player(server.url, "Trying GM");
      const universe = await gm.client.createUniverse({ name: "Tried invite" });
      const once = await gm.client.createInvite(universe.id, { maxUses: 1 });
      const uses = async () =>
        (await gm.client.listInvites(universe.id)).find((i) => i.code === once.code)?.uses;

      const tried = await call(server.url, "POST", `/api/invites/${once.code}/accept`, gm.token, {});
      expect(tried.status).toBe(200);
      expect.soft(tried.json).toMatchObject({
        member: { universeId: universe.id, playerId: gm.id, inviteCode: null, removedAt: null },
        universe: { id: universe.id },
      });
      expect.soft(await uses()).toBe(0);
      expect.soft(await gm.client.listMembers(universe.id)).toEqual([]);

      const meant = await player(server.url, "Invited Player");
      await meant.client.acceptInvite(once.code);
      expect(await uses()).toBe(1);
      expect((await gm.client.listMembers(universe.id)).map((m) => m.playerId)).toEqual([meant.id]);
      // used up now, and still nothing for the game master to use
      const again = await call(server.url, "POST", `/api/invites/${once.code}/accept`, gm.token, {});
      expect(again.status).toBe(200);
      expect(await uses()).toBe(1);
      expect((await gm.client.listMembers(universe.id)).map((m) => m.playerId)).toEqual([meant.id]);
    });

    it("the universe list says the caller's role in each, and the GM's member list names each player", async () => {
      const gm = await player(server.url, "Roles GM");
      const closed = await gm.client.createUniverse({ name: "Roles closed" });
      const open = await gm.client.createUniverse({ name: "Roles open", visibility: "public" });
      const member = await player(server.url, "Ada Member");
      const gone = await player(server.url, "Bram Removed");
      const walker = await player(server.url, "Cleo Guest");
      const invite = await gm.client.createInvite(closed.id);
      await member.client.acceptInvite(invite.code);
      const openInvite = await gm.client.createInvite(open.id);
      await gone.client.acceptInvite(openInvite.code);
      await gm.client.removeMember(open.id, gone.id);

      const roles = async (client: LoomClient | null) => {
        const answer = client
          ? await client.listUniverses()
          : ((await call(server.url, "GET", "/api/universes?limit=200", null)).json.universes as {
              id: string;
              yourRole: unknown;
            }[]);
        const of = (id: string) => answer.find((u) => u.id === id)?.yourRole;
        return { closed: of(closed.id), open: of(open.id) };
      };
      expect(await roles(gm.client)).toEqual({ closed: "gm", open: "gm" });
      expect(await roles(member.client)).toEqual({ closed: "member", open: "guest" });
      expect(await roles(gone.client)).toEqual({ closed: undefined, open: "removed" });
      expect(await roles(walker.client)).toEqual({ closed: undefined, open: "guest" });
      expect(await roles(null)).toEqual({ closed: undefined, open: null });

      expect((await gm.client.listMembers(open.id)).map((m) => [m.playerName, m.removedAt === null])).toEqual(
        [["Bram Removed", false]],
      );
      expect((await gm.client.listMembers(closed.id)).map((m) => [m.playerId, m.playerName])).toEqual([
        [member.id, "Ada Member"],
      ]);
    });

    it("the game masters in the room hear of each change of members at once; players hear nothing", async () => {
      const gm = await player(server.url, "Told GM");
      const universe = await gm.client.createUniverse({ name: "Told" });
      const first = await player(server.url, "Told first");
      const invite = await gm.client.createInvite(universe.id);
      await first.client.acceptInvite(invite.code);
      const { character, run } = await first.client.createCharacter(universe.id, sheet("Told one"));
      const gmSession = await gm.client.joinUniverse(universe.id, { role: "gm" });
      const playing = await first.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      let gmHeard = 0;
      let playerHeard = 0;
      gmSession.on("members", () => gmHeard++);
      playing.on("members", () => playerHeard++);

      const second = await player(server.url, "Told second");
      await second.client.acceptInvite(invite.code); // no turn: only the message says so
      await waitFor(() => gmHeard === 1, 10_000, "the GM hears of the accepted invite");
      await gm.client.removeMember(universe.id, second.id);
      await waitFor(() => gmHeard === 2, 10_000, "the GM hears of the removal");
      await gm.client.addMember(universe.id, second.id);
      await gm.client.revokeInvite(universe.id, (await gm.client.createInvite(universe.id)).code);
      await waitFor(() => gmHeard === 5, 10_000, "re-admitted, an invite made and revoked");
      // a refused acceptance changes nothing and tells nothing
      await expect(second.client.acceptInvite("no-such-code")).rejects.toMatchObject({
        code: "invalid_invite",
      });
      expect((await playing.act(overcome(character.id))).ok).toBe(true);
      expect(gmHeard).toBe(5);
      expect(playerHeard).toBe(0);
      await playing.leave();
      await gmSession.leave();
    });

    it("a removed member is cut off: connections closed, no reads, no seat, no run, no way back by invite", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Exile" });
      const invite = await gm.client.createInvite(universe.id);
      const member = await player(server.url, "Soon gone");
      await member.client.acceptInvite(invite.code);
      const { character, run } = await member.client.createCharacter(universe.id, sheet("Exile"));
      const playing = await member.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      const watching = await member.client.joinUniverse(universe.id, { role: "spectator" });
      const closed: number[] = [];
      playing.on("leave", (code) => closed.push(code));
      watching.on("leave", (code) => closed.push(code));
      expect((await playing.act(overcome(character.id))).ok).toBe(true);

      const table = await gm.client.joinUniverse(universe.id, { role: "gm" });
      const present = () => table.state.characters.get(character.id)?.present;
      await waitFor(() => present() === true, 5_000, "the GM to see the member at the table");

      await gm.client.removeMember(universe.id, member.id);
      await waitFor(() => closed.length === 2, 5_000, "the removed member's connections to close");
      expect(closed).toEqual([CloseCode.MemberRemoved, CloseCode.MemberRemoved]);
      // gone from the table at once, not once a seat kept for their return lapses (1 s here)
      await waitFor(() => present() === false, 800, "the removed member to leave the table");
      await table.leave();

      const base = `/api/universes/${universe.id}`;
      expect(await call(server.url, "GET", `${base}/timeline`, member.token)).toMatchObject({
        status: 403,
        code: "member_removed",
      });
      expect(await call(server.url, "GET", `/api/runs/${run.id}/recap`, member.token)).toMatchObject({
        status: 403,
        code: "member_removed",
      });
      expect(
        await call(server.url, "POST", `/api/runs/${run.id}/complete`, member.token, { reason: "victory" }),
      ).toMatchObject({ status: 403, code: "member_removed" });
      await expect(
        member.client.joinUniverse(universe.id, { role: "player", runId: run.id }),
      ).rejects.toMatchObject({ code: "member_removed" });
      await expect(member.client.acceptInvite(invite.code)).rejects.toMatchObject({ code: "member_removed" });

      // the GM may take them back
      await gm.client.addMember(universe.id, member.id);
      const back = await member.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      expect((await back.act(overcome(character.id))).ok).toBe(true);
      await back.leave();
    });

    it("a member removed from a public universe is removed from its branches too", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Open Road", visibility: "public" });
      const walker = await player(server.url, "Walker");
      const { character, run } = await walker.client.createCharacter(universe.id, sheet("Walker"));
      const playing = await walker.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      const acted = await playing.act(overcome(character.id));
      expect(acted.ok).toBe(true);
      await playing.leave();
      await gm.client.removeMember(universe.id, walker.id);
      const position = (await gm.client.jump(universe.id)).position;
      const branch = await gm.client.branch(universe.id, position, "Fork");
      expect(branch.visibility).toBe("public");

      expect(
        await call(server.url, "GET", `/api/universes/${branch.id}/timeline`, walker.token),
      ).toMatchObject({
        status: 403,
        code: "member_removed",
      });
      await expect(walker.client.startRun(branch.id, character.id)).rejects.toMatchObject({
        code: "member_removed",
      });
      await expect(walker.client.joinUniverse(branch.id, { role: "spectator" })).rejects.toMatchObject({
        code: "member_removed",
      });
      expect((await gm.client.listMembers(branch.id)).find((m) => m.playerId === walker.id)).toMatchObject({
        removedAt: expect.any(String) as string,
      });
      // handing the branch to someone else keeps the removal
      const keeper = await player(server.url, "Keeper");
      await gm.client.addMember(branch.id, keeper.id);
      const handed = await gm.client.handOver(branch.id, keeper.id);
      expect(handed.removed).toEqual([]);
      await gm.client.setVisibility(branch.id, "public");
      expect(
        await call(server.url, "GET", `/api/universes/${branch.id}/timeline`, walker.token),
      ).toMatchObject({
        status: 403,
        code: "member_removed",
      });
    });

    it("a member removed after branches were taken leaves those branches too, down the tree", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Long Road" });
      const rider = await player(server.url, "Rider");
      await gm.client.addMember(universe.id, rider.id);
      const { character, run } = await rider.client.createCharacter(universe.id, sheet("Rider"));
      const playing = await rider.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      expect((await playing.act(overcome(character.id))).ok).toBe(true);
      await playing.leave();
      const position = (await gm.client.jump(universe.id)).position;
      const branch = await gm.client.branch(universe.id, position, "Fork");
      const twig = await gm.client.branch(branch.id, position, "Twig");
      // a branch handed to the rider is theirs; one whose table the game master set apart (taken
      // before the rider came, the rider added there alone) keeps them too
      const own = await gm.client.branch(universe.id, position, "Rider's own");
      await gm.client.handOver(own.id, rider.id);
      const guest = await player(server.url, "Guest");
      const apart = await gm.client.branch(universe.id, position, "Apart");
      await gm.client.addMember(apart.id, guest.id);
      await gm.client.addMember(universe.id, guest.id);
      const watching = await rider.client.joinUniverse(twig.id, { role: "spectator" });
      const closed: number[] = [];
      watching.on("leave", (code) => closed.push(code));
      for (const id of [branch.id, twig.id])
        expect((await call(server.url, "GET", `/api/universes/${id}/timeline`, rider.token)).status).toBe(
          200,
        );

      await gm.client.removeMember(universe.id, rider.id);
      await waitFor(
        () => closed.length === 1,
        5_000,
        "the removed member's watch of the branch's branch to close",
      );
      expect(closed).toEqual([CloseCode.MemberRemoved]);
      for (const id of [universe.id, branch.id, twig.id]) {
        expect(await call(server.url, "GET", `/api/universes/${id}/timeline`, rider.token), id).toMatchObject(
          {
            status: 403,
            code: "member_removed",
          },
        );
        await expect(rider.client.startRun(id, character.id)).rejects.toMatchObject({
          code: "member_removed",
        });
        expect((await gm.client.listMembers(id)).find((m) => m.playerId === rider.id)?.removedAt).toEqual(
          expect.any(String),
        );
      }
      expect((await rider.client.listUniverses()).map((u) => u.id)).not.toContain(twig.id);
      // removing again changes nothing, and the game master can still take the player back in a branch
      await gm.client.removeMember(universe.id, rider.id);
      await gm.client.addMember(twig.id, rider.id);
      expect((await call(server.url, "GET", `/api/universes/${twig.id}/timeline`, rider.token)).status).toBe(
        200,
      );
      expect(
        (await call(server.url, "GET", `/api/universes/${universe.id}/timeline`, rider.token)).status,
      ).toBe(403);
      expect((await call(server.url, "GET", `/api/universes/${own.id}/timeline`, rider.token)).status).toBe(
        200,
      );

      // the guest came to the root after "Apart" was taken: removed there, they stay in "Apart",
      // but leave the branches that took them with the root's table
      const later = await gm.client.branch(universe.id, position, "Later");
      await gm.client.removeMember(universe.id, guest.id);
      expect((await call(server.url, "GET", `/api/universes/${apart.id}/timeline`, guest.token)).status).toBe(
        200,
      );
      expect(await call(server.url, "GET", `/api/universes/${later.id}/timeline`, guest.token)).toMatchObject(
        {
          status: 403,
          code: "member_removed",
        },
      );
      // nor are they listed as removed where they never were
      expect((await gm.client.listMembers(branch.id)).map((m) => m.playerId)).not.toContain(guest.id);
    });
    it("a member re-admitted is back at the tables their removal reached, not where a branch removed them itself", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Round Trip" });
      // a public branch taken before the rider came: a guest there, marked removed with the root
      const open = await gm.client.branch(universe.id, 0, "Open");
      await gm.client.setVisibility(open.id, "public");
      const rider = await player(server.url, "Rider");
      await gm.client.addMember(universe.id, rider.id);
      const { character } = await rider.client.createCharacter(universe.id, sheet("Rider"));
      const branch = await gm.client.branch(universe.id, 0, "Fork");
      const twig = await gm.client.branch(branch.id, 0, "Twig");
      const strict = await gm.client.branch(universe.id, 0, "Strict");
      // the game master of "Strict" removes the rider there first, for reasons of its own
      await gm.client.removeMember(strict.id, rider.id);
      await gm.client.removeMember(universe.id, rider.id);
      // a branch taken while the rider is out keeps them out
      const during = await gm.client.branch(universe.id, 0, "During");
      const status = async (id: string) =>
        (await call(server.url, "GET", `/api/universes/${id}/timeline`, rider.token)).status;
      for (const id of [universe.id, branch.id, twig.id, strict.id, open.id, during.id])
        expect(await status(id), id).toBe(403);
      expect((await gm.client.listMembers(open.id)).map((m) => m.playerId)).toContain(rider.id);

      await gm.client.addMember(universe.id, rider.id);
      for (const id of [universe.id, branch.id, twig.id, open.id, during.id])
        expect(await status(id), id).toBe(200);
      expect(
        await call(server.url, "GET", `/api/universes/${strict.id}/timeline`, rider.token),
      ).toMatchObject({
        status: 403,
        code: "member_removed",
      });
      // back as they were: a member with their character where they were one, a guest where the branch is public
      await expect(rider.client.startRun(twig.id, character.id)).resolves.toBeTruthy();
      expect((await gm.client.listMembers(open.id)).map((m) => m.playerId)).not.toContain(rider.id);
      expect((await gm.client.listMembers(branch.id)).find((m) => m.playerId === rider.id)).toMatchObject({
        removedAt: null,
      });
      // adding a member who was never removed touches no branch
      const newcomer = await player(server.url, "Newcomer");
      await gm.client.addMember(universe.id, newcomer.id);
      expect((await gm.client.listMembers(branch.id)).map((m) => m.playerId)).not.toContain(newcomer.id);
    });

    it("a branch handed to one player as an invite to it is accepted keeps that player alone", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Solo Race" });
      const keeper = await player(server.url, "Keeper");
      await gm.client.addMember(universe.id, keeper.id);
      for (let round = 0; round < 8; round++) {
        const branch = await gm.client.branch(universe.id, 0, `Solo ${round}`);
        const invite = await gm.client.createInvite(branch.id);
        const stranger = await player(server.url, `Stranger ${round}`);
        const [accepted, handed] = await Promise.allSettled([
          stranger.client.acceptInvite(invite.code),
          gm.client.handOver(branch.id, keeper.id),
        ]);
        expect(handed.status).toBe("fulfilled");
        const active = (await gm.client.listMembers(branch.id)).filter((m) => m.removedAt === null);
        expect(
          active.map((m) => m.playerId),
          `round ${round}`,
        ).toEqual([keeper.id]);
        // the stranger came in before the hand-over and left with the table, or found the invite revoked
        if (accepted.status === "rejected") expect(accepted.reason).toMatchObject({ code: "invalid_invite" });
        expect((await call(server.url, "GET", `/api/universes/${branch.id}`, stranger.token)).status).toBe(
          403,
        );
      }
    });

    it("guests watching a public universe leave when it turns private; its members stay", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Closing Fair", visibility: "public" });
      const regular = await player(server.url, "Regular");
      const { character, run } = await regular.client.createCharacter(universe.id, sheet("Regular"));
      const playing = await regular.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      const passerby = await player(server.url, "Passerby");
      const watching = await passerby.client.joinUniverse(universe.id, { role: "spectator" });
      const table = await gm.client.joinUniverse(universe.id, { role: "gm" });
      const left = new Promise<number>((resolve) => watching.on("leave", resolve));
      const heard: number[] = [];
      watching.on("turn", (turn) => heard.push(turn.position));

      await gm.client.setVisibility(universe.id, "private");
      expect(await left).toBe(CloseCode.MemberRemoved);
      const seen = heard.length;
      expect((await playing.act(overcome(character.id))).ok).toBe(true);
      expect((await table.act({ kind: "world_event", text: "The gates close" })).ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard.length).toBe(seen);
      await expect(passerby.client.joinUniverse(universe.id, { role: "spectator" })).rejects.toMatchObject({
        code: "not_a_member",
      });
      await playing.leave();
      await table.leave();
    });

    it("a member removed while their connection is lost does not get the seat back", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Closed Door" });
      const invite = await gm.client.createInvite(universe.id);
      const member = await player(server.url, "Dropped");
      await member.client.acceptInvite(invite.code);
      const { character, run } = await member.client.createCharacter(universe.id, sheet("Dropped"));
      const playing = await member.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      const table = await gm.client.joinUniverse(universe.id, { role: "gm" });
      expect((await playing.act(overcome(character.id))).ok).toBe(true);
      const heard: number[] = [];
      playing.on("turn", (turn) => heard.push(turn.position));
      const left = new Promise<number>((resolve) => playing.on("leave", resolve));

      let removed!: () => void;
      void breakUntil(playing, new Promise<void>((resolve) => (removed = resolve)));
      // the room has seen the connection go: the member is no longer among its clients
      const room = matchMaker.getLocalRoomById(universe.id);
      await waitFor(
        () => !room.clients.some((client) => (client.auth as { playerId?: string })?.playerId === member.id),
        5_000,
        "the room to see the connection lost",
      );
      await gm.client.removeMember(universe.id, member.id);
      removed();
      expect(await left).toBe(CloseCode.MemberRemoved);
      const seenBefore = heard.length;
      const worldEvent = { kind: "world_event" as const, text: "The door is barred" };
      expect((await table.act(worldEvent)).ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard.length).toBe(seenBefore);
      expect(
        room.clients.some((client) => (client.auth as { playerId?: string })?.playerId === member.id),
      ).toBe(false);
      await table.leave();
    });

    it("a removed member whose client ignores the close acts no more: what it sends until the socket goes is dropped", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Deaf Ears" });
      const member = await player(server.url, "Deaf");
      await member.client.acceptInvite((await gm.client.createInvite(universe.id)).code);
      const { character, run } = await member.client.createCharacter(universe.id, sheet("Deaf"));
      const table = await gm.client.joinUniverse(universe.id, { role: "gm" });
      const raw = await RawMember.join(
        server.url,
        member.token,
        universe.id,
        { role: "player", runId: run.id },
        { ignoreClose: true },
      );
      const act = (seq: number, text: string) =>
        raw.send(frame("act", pack({ seq, command: overcome(character.id, text) })));
      act(1, "before the removal");
      await waitFor(
        () => table.turns.some((turn) => turn.input.description === "before the removal"),
        5_000,
        "the member's turn before the removal",
      );
      await gm.client.removeMember(universe.id, member.id);
      await waitFor(() => raw.closeFrame !== null, 5_000, "the server's close frame");
      expect(raw.closeFrame).toBe(CloseCode.MemberRemoved);
      for (let seq = 2; seq <= 6; seq++) {
        act(seq, `after the removal ${seq}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const worldEvent = { kind: "world_event" as const, text: "The door is barred" };
      expect((await table.act(worldEvent)).ok).toBe(true);
      expect(
        table.turns.filter((turn) => String(turn.input.description).startsWith("after the removal")),
      ).toEqual([]);
      raw.terminate();
      await table.leave();
    });

    it("a player removed while their join is on its way is not seated, whenever the removal lands", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Revolving Door", visibility: "public" });
      const table = await gm.client.joinUniverse(universe.id, { role: "gm" });
      // the join's reads take some tens of milliseconds: removals land before, during and after them
      for (let delay = 0; delay <= 57; delay += 3) {
        const joiner = await player(server.url, `Joiner ${delay}`);
        const { character, run } = await joiner.client.createCharacter(universe.id, sheet("Joiner"));
        const joining = joiner.client.joinUniverse(universe.id, { role: "player", runId: run.id }).then(
          (session) => session,
          (error: unknown) => error as Error,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        await gm.client.removeMember(universe.id, joiner.id);
        const session = await joining;
        if (session instanceof Error) {
          expect(
            { code: (session as { code?: unknown }).code, message: session.message },
            `removed ${delay} ms into the join`,
          ).toMatchObject({ code: expect.stringMatching(/^(not_a_member|member_removed)$/) });
          continue;
        }
        const left = new Promise<number>((resolve) => session.on("leave", resolve));
        const outcome = await Promise.race([
          left.then((code) => `left ${code}`),
          new Promise((resolve) => setTimeout(resolve, 2_000)).then(() => "still seated"),
        ]);
        expect(outcome, `removed ${delay} ms into the join`).toBe(`left ${CloseCode.MemberRemoved}`);
        const acted = await session.act(overcome(character.id, "still here"), { timeoutMs: 1_000 }).then(
          (result) => (result.ok ? "acted" : "refused"),
          () => "refused",
        );
        expect(acted, `removed ${delay} ms into the join`).toBe("refused");
      }
      expect(table.turns.filter((turn) => turn.input.description === "still here")).toEqual([]);
      await table.leave();
    }, 120_000);

    it("a player may have only so many characters in a universe, even when they ask all at once", async () => {
      const gm = await player(server.url, "GM");
      const universe = await gm.client.createUniverse({ name: "Crowded", visibility: "public" });
      const greedy = await player(server.url, "Greedy");
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          call(
            server.url,
            "POST",
            `/api/universes/${universe.id}/characters`,
            greedy.token,
            sheet(`Twin ${i}`),
          ),
        ),
      );
      expect(answers.filter((a) => a.status === 201)).toHaveLength(2);
      const refused = answers.filter((a) => a.status !== 201);
      expect(refused.every((a) => a.status === 409 && a.code === "too_many_characters")).toBe(true);
    });

    it("a run cannot be started in a universe with a character of another universe", async () => {
      const gm = await player(server.url, "GM");
      const home = await gm.client.createUniverse({ name: "Home", visibility: "public" });
      const elsewhere = await gm.client.createUniverse({ name: "Elsewhere", visibility: "public" });
      const traveller = await player(server.url, "Traveller");
      const { character } = await traveller.client.createCharacter(home.id, sheet("Wanderer"));
      await expect(traveller.client.startRun(elsewhere.id, character.id)).rejects.toMatchObject({
        code: "unknown_character",
        status: 409,
      });
      // in its own universe the only objection is the run it already has open there
      await expect(traveller.client.startRun(home.id, character.id)).rejects.toMatchObject({
        code: "conflict",
      });
    });

    // game masters besides the creator are named in the universe's settings, written here as an
    // operator would: on Postgres only, the database of the embedded mode being the server's alone
    if (mode.databaseUrl)
      it("a branch a co-game master takes keeps the universe's creator its game master", async () => {
        const founder = await player(server.url, "Founder");
        const co = await player(server.url, "Co-GM");
        const universe = await founder.client.createUniverse({ name: "Shared Table" });
        const sql = postgres(mode.databaseUrl!, { max: 1, onnotice: () => {} });
        try {
          await sql`update universes set settings = ${sql.json({ gms: [co.id] })} where id = ${universe.id}`;
        } finally {
          await sql.end();
        }
        const branch = await co.client.branch(universe.id, 0, "The co-GM's what-if");
        expect((await founder.client.getUniverse(branch.id)).id).toBe(branch.id);
        await founder.client.listMembers(branch.id); // a game master's route: refused to others
        expect((await founder.client.listUniverses()).map((u) => u.id)).toContain(branch.id);
        // nor can the co-GM mark the creator removed there
        const removal = await call(
          server.url,
          "DELETE",
          `/api/universes/${branch.id}/members/${founder.id}`,
          co.token,
        );
        expect(removal.code).toBe("not_allowed");
        await founder.client.joinUniverse(branch.id, { role: "gm" }).then((session) => session.leave());
      });

    if (mode.databaseUrl)
      it("a game master's seat follows the universe's game masters as they are now, the room open or not", async () => {
        const founder = await player(server.url, "Founder");
        const co = await player(server.url, "Co-GM");
        const universe = await founder.client.createUniverse({ name: "Changing Hands" });
        await founder.client.addMember(universe.id, co.id);
        const setGms = async (gms: string[]) => {
          const sql = postgres(mode.databaseUrl!, { max: 1, onnotice: () => {} });
          try {
            await sql`update universes set settings = ${sql.json({ gms })} where id = ${universe.id}`;
          } finally {
            await sql.end();
          }
        };
        // the room is open, its universe read as it opened
        const desk = await founder.client.joinUniverse(universe.id, { role: "gm" });
        await setGms([co.id]);
        await co.client.joinUniverse(universe.id, { role: "gm" }).then((session) => session.leave());
        await setGms([]);
        await expect(co.client.joinUniverse(universe.id, { role: "gm" })).rejects.toMatchObject({
          code: "not_allowed",
        });
        // a seat taken while a game master ends when the room checks its seats, saying why: the
        // player is still a member, and joins as one
        await setGms([co.id]);
        const coDesk = await co.client.joinUniverse(universe.id, { role: "gm" });
        const left = new Promise<number>((resolve) => coDesk.on("leave", resolve));
        await setGms([]);
        await (
          matchMaker.getLocalRoomById(universe.id) as unknown as { checkSeats(): Promise<void> }
        ).checkSeats();
        expect(await left).toBe(CloseCode.NoLongerGameMaster);
        await co.client.joinUniverse(universe.id, { role: "spectator" }).then((session) => session.leave());
        await desk.leave();
      });
  });
}
