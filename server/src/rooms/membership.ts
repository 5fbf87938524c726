import { ServerError } from "@colyseus/core";
import {
  buildCharacter,
  characterSheetSchema,
  type JoinOptions,
  type JoinRole,
  type RejectionCode,
} from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseAuthority } from "../universe/authority.ts";
import type { RunRecord } from "../persist/turn-store.ts";

/** Who a connected client is in this universe, settled once at join. */
export interface Member {
  role: JoinRole;
  playerId: string;
  name: string;
  runId: string | null;
  characterId: string | null;
  /** Stable across reconnects and processes, so client sequence numbers dedupe retries. */
  clientKey: string;
  /** The run a player joined with, as it was at join. */
  run: RunRecord | null;
}

export function isGameMaster(authority: UniverseAuthority, playerId: string): boolean {
  const gms = authority.universe.settings.gms;
  return authority.universe.createdBy === playerId || (Array.isArray(gms) && gms.includes(playerId));
}

/** Join failures carry the rejection code first, so SDK users can switch on it. */
export function joinRefusal(status: number, code: RejectionCode, message: string): ServerError {
  return new ServerError(status, `${code}: ${message}`);
}

function refuse(status: number, code: RejectionCode, message: string): never {
  throw joinRefusal(status, code, message);
}

export async function admitMember(
  authority: UniverseAuthority,
  auth: { playerId: string; name: string },
  options: JoinOptions,
): Promise<Member> {
  const base = { playerId: auth.playerId, name: auth.name, run: null };
  if (options.role === "spectator") {
    return {
      ...base,
      role: "spectator",
      runId: null,
      characterId: null,
      clientKey: `${auth.playerId}:spectator`,
    };
  }
  if (options.role === "gm") {
    if (!isGameMaster(authority, auth.playerId))
      refuse(403, "not_allowed", "only this universe's game masters may join as gm");
    return {
      ...base,
      role: "gm",
      runId: null,
      characterId: null,
      clientKey: `${auth.playerId}:gm`,
      run: null,
    };
  }
  if (!options.runId) refuse(400, "invalid_message", "players join with the runId of their character's run");
  const { turnStore } = services();
  const run = await turnStore.getRun(options.runId);
  if (!run || run.universeId !== authority.universe.id)
    refuse(404, "unknown_run", `no run ${options.runId} in this universe`);
  if (run.playerId !== auth.playerId) refuse(403, "not_your_character", "this run belongs to another player");
  if (run.state !== "active" && run.state !== "paused")
    refuse(409, "run_not_active", `the run is ${run.state}`);
  if (run.state === "paused") await turnStore.updateRun(run.id, { state: "active" });
  authority.closedRuns.delete(run.id);
  if (!authority.state.characters[run.characterId]) {
    const record = await turnStore.getCharacter(run.characterId);
    if (!record) refuse(404, "unknown_character", `character ${run.characterId} does not exist`);
    const sheet = characterSheetSchema.parse(record.sheet);
    const added = await authority.submit({
      actor: { kind: "system", playerId: auth.playerId },
      command: { kind: "add_character", character: buildCharacter(record.id, record.playerId, sheet) },
      runId: run.id,
      characterId: record.id,
    });
    if (!added.ok) {
      // the same character joining twice at once: the other join's add may still be on its way
      await authority.settled();
      if (!authority.state.characters[run.characterId])
        refuse(409, added.rejection.code, added.rejection.message);
    }
  }
  return {
    playerId: auth.playerId,
    name: auth.name,
    role: "player",
    runId: run.id,
    characterId: run.characterId,
    clientKey: `${auth.playerId}:${run.id}`,
    run: run.state === "paused" ? { ...run, state: "active" } : run,
  };
}
