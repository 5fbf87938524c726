import { GAME_MASTER, RejectionCode, type Viewer } from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseRecord } from "../persist/turn-store.ts";
import { admission, isGm, roleIn } from "../universe/admission.ts";
import type { Request } from "express";
import { ApiError, caller, type Caller } from "./http.ts";

export { isGm, roleIn };

export async function universeOr404(id: string): Promise<UniverseRecord> {
  const universe = await services().turnStore.getUniverse(id);
  if (!universe) throw new ApiError(404, RejectionCode.UnknownUniverse, `no universe ${id}`);
  return universe;
}

export function requireGm(universe: UniverseRecord, playerId: string): void {
  if (!isGm(universe, playerId))
    throw new ApiError(403, RejectionCode.NotAllowed, "only this universe's game masters may do that");
}

/** The caller and the universe of `:id`, when the caller is one of its game masters. */
export async function asGameMaster(req: Request): Promise<{ me: Caller; universe: UniverseRecord }> {
  const me = await caller(req);
  const universe = await universeOr404(String(req.params.id));
  requireGm(universe, me.playerId);
  return { me, universe };
}

/**
 * Whether `universeId` is `ancestorId` or a branch descending from it: a character belongs to
 * its own universe and to the branches taken of it, nowhere else.
 */
export function descendsFrom(universeId: string, ancestorId: string): Promise<boolean> {
  return services().turnStore.descendsFrom(universeId, ancestorId);
}

/** Members, game masters, and anyone not removed from a public universe; a coded 403 otherwise. */
export async function requireMember(
  universe: UniverseRecord,
  playerId: string,
): Promise<"gm" | "member" | "guest"> {
  const admitted = await admission(universe, playerId);
  if (!admitted.ok) throw new ApiError(403, admitted.rejection.code, admitted.rejection.message);
  return admitted.as;
}

/**
 * Whether the player may read the universe at all (a GM, an admitted member, a guest of a public
 * one): to anyone else, a record of someone else's in it (a run, a character) is answered as
 * unknown, so that a refusal does not tell an outsider the id is real.
 */
export async function mayReadUniverse(universe: UniverseRecord, playerId: string): Promise<boolean> {
  return (await admission(universe, playerId)).ok;
}

/** The caller when the request carries a token (an invalid one is still a 401), else null. */
export async function callerIfAny(req: Request): Promise<Caller | null> {
  return req.headers.authorization === undefined ? null : caller(req);
}

/** A universe the caller may read: a public one needs no token, a private one a member's. */
export async function readableUniverse(req: Request, id: string): Promise<UniverseRecord> {
  const universe = await universeOr404(id);
  if (universe.visibility === "public" && req.headers.authorization === undefined) return universe;
  await requireMember(universe, (await caller(req)).playerId);
  return universe;
}

/**
 * What of a turn the caller may see (see visibility.ts): a GM of the universe all of it, anyone
 * else the public part and the owner-only part of their own characters.
 */
export async function viewerFor(universe: UniverseRecord, playerId: string): Promise<Viewer> {
  if (isGm(universe, playerId)) return GAME_MASTER;
  const runs = await services().turnStore.listRuns({ playerId });
  const owned = new Set(runs.map((run) => run.characterId));
  return { role: "player", owns: (characterId) => owned.has(characterId) };
}
