import { REFUSAL_WORDS, reject, RejectionCode, type Rejection, type UniverseRole } from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseRecord } from "../persist/turn-store.ts";
import type { MemberRecord } from "../persist/membership-store.ts";

/**
 * Whether a player may read, watch and play a universe: its game masters always; a member the
 * game master has not removed; anyone not removed when the universe is public. The HTTP API and
 * the room both ask here, so a removed member is cut off everywhere at once.
 */
export type Admission = { ok: true; as: "gm" | "member" | "guest" } | { ok: false; rejection: Rejection };

/** The one game-master check: the universe's creator, or a player its settings list as a GM. */
export function isGm(universe: UniverseRecord, playerId: string): boolean {
  const gms = universe.settings.gms;
  return universe.createdBy === playerId || (Array.isArray(gms) && gms.includes(playerId));
}

export async function admission(universe: UniverseRecord, playerId: string): Promise<Admission> {
  if (isGm(universe, playerId)) return { ok: true, as: "gm" };
  return admissionOf(universe, playerId, await services().memberships.getMember(universe.id, playerId));
}

/**
 * A player's role in a universe, given their membership record (or none): `guest` is anyone not
 * a game master and never a member, whether or not the universe admits guests.
 */
export function roleIn(
  universe: UniverseRecord,
  playerId: string,
  member: MemberRecord | null,
): UniverseRole {
  if (isGm(universe, playerId)) return "gm";
  if (!member) return "guest";
  return member.removedAt ? "removed" : "member";
}

/** The admission of a player, given their membership record (or none). */
export function admissionOf(
  universe: UniverseRecord,
  playerId: string,
  member: MemberRecord | null,
): Admission {
  const role = roleIn(universe, playerId, member);
  if (role === "removed")
    return {
      ok: false,
      rejection: reject(RejectionCode.MemberRemoved, REFUSAL_WORDS.memberRemoved),
    };
  if (role !== "guest" || universe.visibility === "public") return { ok: true, as: role };
  return {
    ok: false,
    rejection: reject(
      RejectionCode.NotAMember,
      "this universe is private: accept an invite from its game master first",
    ),
  };
}
