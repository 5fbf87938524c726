import { ServerError } from "@colyseus/core";
import {
  CloseCode,
  encodeJoinRefusal,
  GAME_MASTER,
  SPECTATOR,
  type JoinOptions,
  type JoinRole,
  type RejectionCode,
  type UniverseState,
  type Viewer,
} from "@loom/shared";
import { services } from "../services.ts";
import type { UniverseAuthority } from "../universe/authority.ts";
import type { RunRecord, UniverseRecord } from "../persist/turn-store.ts";
import { admission, admissionOf, isGm } from "../universe/admission.ts";
import { enterStory } from "../universe/continuity.ts";
import type { MemberRecord } from "../persist/membership-store.ts";

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

/**
 * A member's client key: who and in what role, and the client session's id when it gives one (a
 * client without one has a key per player and run, shared by all its sessions).
 */
function keyOf(member: string, options: JoinOptions): string {
  return options.session === undefined ? member : `${member}:${options.session}`;
}

/**
 * What of a turn the member may see (see visibility.ts): a GM all of it, a player also what
 * belongs to their own characters in `state`, a spectator the public part.
 */
export function viewerOf(member: Pick<Member, "role" | "playerId">, state: UniverseState): Viewer {
  if (member.role === "gm") return GAME_MASTER;
  if (member.role === "spectator") return SPECTATOR;
  return {
    role: "player",
    owns: (characterId: string) => ownerOf(state, characterId) === member.playerId,
  };
}

/** The player a character of `state` belongs to, if it has one. */
export function ownerOf(state: UniverseState, characterId: string): string | undefined {
  return Object.hasOwn(state.characters, characterId) ? state.characters[characterId]!.playerId : undefined;
}

/**
 * Whether the universe (as read afresh) still admits a member seated before (not removed since,
 * not a guest of a universe that turned private, and a game master still for a game master's
 * seat): null if it does, else the close that ends the seat (see seatEnd).
 */
async function seatEndAfresh(universe: UniverseRecord, member: Member): Promise<number | null> {
  if (isGm(universe, member.playerId)) return null;
  if (!(await admission(universe, member.playerId)).ok) return CloseCode.MemberRemoved;
  return member.role === "gm" ? CloseCode.NoLongerGameMaster : null;
}

/**
 * Why the universe (read afresh, with its membership records read once for all its seats) no
 * longer admits a member seated before, as the close that ends the seat; null while it does. A
 * game master taken off the universe's game masters who is still a member is told so, not that
 * they were removed.
 */
export function seatEnd(
  universe: UniverseRecord,
  member: Member,
  records: ReadonlyMap<string, MemberRecord>,
): number | null {
  if (isGm(universe, member.playerId)) return null;
  const admitted = admissionOf(universe, member.playerId, records.get(member.playerId) ?? null).ok;
  if (!admitted) return CloseCode.MemberRemoved;
  return member.role === "gm" ? CloseCode.NoLongerGameMaster : null;
}

/**
 * Whether a member seated before may have the seat back after a lost connection: null if so, else
 * the close that ends it (seatEndAfresh).
 */
export async function seatEndOnReturn(authority: UniverseAuthority, member: Member): Promise<number | null> {
  const universe = (await services().turnStore.getUniverse(authority.universe.id)) ?? authority.universe;
  return seatEndAfresh(universe, member);
}

/** A refused join: its status, and the code and message as JSON (see encodeJoinRefusal). */
export function joinRefusal(status: number, code: RejectionCode, message: string): ServerError {
  return new ServerError(status, encodeJoinRefusal(code, message));
}

/** A turn the server makes at a join, refused: the store's bounds (an outage) are a 503, the rest a conflict. */
function statusOf(code: RejectionCode): number {
  return code === "unavailable" || code === "rate_limited" ? 503 : 409;
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
  // read afresh: the game master may have removed the player or changed the visibility since
  const universe = (await services().turnStore.getUniverse(authority.universe.id)) ?? authority.universe;
  const admitted = await admission(universe, auth.playerId);
  if (!admitted.ok) refuse(403, admitted.rejection.code, admitted.rejection.message);
  if (options.role === "spectator") {
    return {
      ...base,
      role: "spectator",
      runId: null,
      characterId: null,
      clientKey: keyOf(`${auth.playerId}:spectator`, options),
    };
  }
  if (options.role === "gm") {
    if (!isGm(universe, auth.playerId))
      refuse(403, "not_allowed", "only this universe's game masters may join as gm");
    return {
      ...base,
      role: "gm",
      runId: null,
      characterId: null,
      clientKey: keyOf(`${auth.playerId}:gm`, options),
      run: null,
    };
  }
  if (!options.runId) refuse(400, "invalid_message", "players join with the runId of their character's run");
  const { turnStore } = services();
  const runId = options.runId;
  // a lifecycle change like any other: it must not interleave with a completion of the same run
  const run = await authority.lifecycle(async () => {
    const found = await turnStore.getRun(runId);
    if (!found || found.universeId !== authority.universe.id)
      refuse(404, "unknown_run", `no run ${runId} in this universe`);
    if (found.playerId !== auth.playerId)
      refuse(403, "not_your_character", "this run belongs to another player");
    const state = authority.runState(found);
    if (state !== "active" && state !== "paused") refuse(409, "run_not_active", `the run is ${state}`);
    return { ...found, state };
  });
  const entered = await enterStory(turnStore, authority, run, auth.playerId);
  if (entered)
    refuse(
      entered.code === "unknown_character" ? 404 : statusOf(entered.code),
      entered.code,
      entered.message,
    );
  // joining a paused run resumes it, with a turn of its own (after the character is in the state)
  const resumed = await authority.lifecycle(async () => {
    const state = authority.runState(run);
    if (state !== "paused") return state;
    const submitted = await authority.submit({
      // the server's doing, as the player joins (like adding the character)
      actor: { kind: "system", playerId: auth.playerId },
      command: { kind: "run_pause", characterId: run.characterId, runId: run.id, paused: false },
      runId: run.id,
      characterId: run.characterId,
    });
    if (!submitted.ok)
      refuse(statusOf(submitted.rejection.code), submitted.rejection.code, submitted.rejection.message);
    return authority.runState(run);
  });
  if (resumed !== "active") refuse(409, "run_not_active", `the run is ${resumed}`);
  return {
    playerId: auth.playerId,
    name: auth.name,
    role: "player",
    runId: run.id,
    characterId: run.characterId,
    clientKey: keyOf(`${auth.playerId}:${run.id}`, options),
    run: { ...run, state: "active" },
  };
}
