import { RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseRecord } from "../persist/turn-store.ts";
import { ApiError } from "./http.ts";

export async function universeOr404(id: string): Promise<UniverseRecord> {
  const universe = await services().turnStore.getUniverse(id);
  if (!universe) throw new ApiError(404, RejectionCode.UnknownUniverse, `no universe ${id}`);
  return universe;
}

export function isGm(universe: UniverseRecord, playerId: string): boolean {
  const gms = universe.settings.gms;
  return universe.createdBy === playerId || (Array.isArray(gms) && gms.includes(playerId));
}

export function requireGm(universe: UniverseRecord, playerId: string): void {
  if (!isGm(universe, playerId))
    throw new ApiError(403, RejectionCode.NotAllowed, "only this universe's game masters may do that");
}
