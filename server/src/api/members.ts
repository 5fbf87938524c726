import { randomBytes } from "node:crypto";
import type { Application } from "express";
import { API, RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import { expelFromUniverse, checkSeatsIn, tellMembersChanged } from "../universe/dispatch.ts";
import { ApiError, caller, parseBody, pathId, route } from "./http.ts";
import { log } from "../log.ts";
import { asGameMaster, isGm, universeOr404 } from "./access.ts";
import { shownUniverse } from "./live.ts";

/** Invite codes carry 96 random bits: unguessable, short enough to paste into a chat. */
function newInviteCode(): string {
  return randomBytes(12).toString("base64url");
}

/** Membership: visibility, invite codes, and the game master's list of members. */
export function installMemberRoutes(app: Application): void {
  app.patch(
    API.changeUniverse.path,
    route(async (req) => {
      let { universe } = await asGameMaster(req);
      const body = parseBody(API.changeUniverse.body, req.body);
      const { memberships } = services();
      if (body.characterLimits)
        universe = (await memberships.setCharacterLimits(universe.id, body.characterLimits)) ?? universe;
      if (body.visibility !== undefined) {
        universe = (await memberships.setVisibility(universe.id, body.visibility)) ?? universe;
        // its guests, watching while it was public, leave with it
        if (body.visibility === "private") await checkSeatsIn(universe.id);
      }
      return { universe: await shownUniverse(universe) };
    }),
  );

  app.post(
    API.createInvite.path,
    route(async (req, res) => {
      const { me, universe } = await asGameMaster(req);
      const body = parseBody(API.createInvite.body, req.body);
      const expiresAt =
        body.expiresInSeconds === undefined
          ? null
          : new Date(Date.now() + body.expiresInSeconds * 1000).toISOString();
      const invite = await services().memberships.createInvite({
        code: newInviteCode(),
        universeId: universe.id,
        createdBy: me.playerId,
        expiresAt,
        maxUses: body.maxUses ?? null,
      });
      await tellMembersChanged(universe.id);
      res.status(201);
      return { invite };
    }),
  );

  app.get(
    API.listInvites.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      return { invites: await services().memberships.listInvites(universe.id) };
    }),
  );

  app.delete(
    API.revokeInvite.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const invite = await services().memberships.revokeInvite(universe.id, pathId(req, "code"));
      if (!invite) throw new ApiError(404, RejectionCode.InvalidInvite, "this universe has no such invite");
      await tellMembersChanged(universe.id);
      return { invite };
    }),
  );

  app.post(
    API.acceptInvite.path,
    route(async (req) => {
      const me = await caller(req);
      const code = pathId(req, "code");
      const accepted = await services().memberships.acceptInvite(code, me.playerId);
      if (!accepted.ok)
        throw new ApiError(
          accepted.reason === "member_removed" ? 403 : 404,
          accepted.reason,
          accepted.message,
        );
      const universe = await universeOr404(accepted.member.universeId);
      await tellMembersChanged(universe.id);
      return { member: accepted.member, universe: await shownUniverse(universe) };
    }),
  );

  app.get(
    API.listMembers.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      return { members: await services().memberships.listMembers(universe.id) };
    }),
  );

  /** A game master adds a player directly, or re-admits one they removed. */
  app.put(
    API.addMember.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const playerId = pathId(req, "playerId");
      if (!(await services().turnStore.getPlayer(playerId)))
        throw new ApiError(404, RejectionCode.NotFound, `no player ${playerId}`);
      const { memberships } = services();
      const before = await memberships.getMember(universe.id, playerId);
      const member = await memberships.addMember(universe.id, playerId);
      await tellMembersChanged(universe.id);
      // back at the table, and at the branches' tables their removal from it reached
      if (before?.removedAt) {
        const branches = await memberships.readmitToBranches(universe.id, playerId, before.removedAt);
        for (const universeId of branches) await tellMembersChanged(universeId);
      }
      return { member };
    }),
  );

  /** Removes a member: their connections to the universe close and they can no longer play in it. */
  app.delete(
    API.removeMember.path,
    route(async (req) => {
      const { universe } = await asGameMaster(req);
      const playerId = pathId(req, "playerId");
      if (isGm(universe, playerId))
        throw new ApiError(409, RejectionCode.NotAllowed, "a game master cannot be removed as a member");
      if (!(await services().turnStore.getPlayer(playerId)))
        throw new ApiError(404, RejectionCode.NotFound, `no player ${playerId}`);
      const { memberships } = services();
      const member = await memberships.removeMember(universe.id, playerId);
      // the branches taken before the removal carry the table as it was: the player leaves them
      // too, down the tree, or the removed player would read on there
      const branches = await memberships.removeFromBranches(universe.id, playerId, member.removedAt!);
      await expelFromUniverse(universe.id, playerId);
      await tellMembersChanged(universe.id);
      for (const universeId of branches) {
        // removed there already: a room that cannot be reached now closes their seats at its
        // next check of them (LOOM_SEAT_CHECK_MS)
        await expelFromUniverse(universeId, playerId).catch((error: unknown) =>
          log.warn(`universe ${universeId}: could not close a removed member's connections`, {
            err: error,
            universeId,
          }),
        );
        await tellMembersChanged(universeId);
      }
      return { member };
    }),
  );
}
