import { reject, RejectionCode, type Rejection } from "@loom/shared";
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
  return admissionOf(universe, await services().memberships.getMember(universe.id, playerId));
}

/** The admission of a player who is not a game master, given their membership record (or none). */
export function admissionOf(universe: UniverseRecord, member: MemberRecord | null): Admission {
  if (member?.removedAt)
    return {
      ok: false,
      rejection: reject(RejectionCode.MemberRemoved, "a game master removed you from this universe"),
    };
  if (member) return { ok: true, as: "member" };
  if (universe.visibility === "public") return { ok: true, as: "guest" };
  return {
    ok: false,
    rejection: reject(
      RejectionCode.NotAMember,
      "this universe is private: accept an invite from its game master first",
    ),
  };
}
