import { matchMaker, type Presence } from "@colyseus/core";
import type { GenerationCache } from "../auth/generations.ts";
import type { Ownership } from "../universe/ownership.ts";
import type { UniverseRoom } from "./universe-room.ts";

/**
 * A room checks a token only as it is joined, so a log-out-everywhere alone leaves whoever holds
 * a seat with a revoked token in it. The process that revokes announces it on Colyseus's presence
 * (Redis pub/sub across processes, an in-process emitter in one), and every process closes the
 * player's older connections to the rooms it has open. One channel per deployment rather than
 * one subscription per room: a process subscribes once, however many rooms it holds. Pub/sub
 * keeps nothing: a process whose Redis connection is down then misses the message, and its rooms
 * close such connections at their next check of every seat (UniverseRoom.checkSeats); a dropped
 * one does not get its seat back (see onReconnect).
 */
const CHANNEL = "loom:sessions-revoked";

export interface Revocation {
  playerId: string;
  /** The player's token generation from now on: connections made with an older one close. */
  generation: number;
}

export async function announceRevocation(presence: Presence, revocation: Revocation): Promise<void> {
  await presence.publish(CHANNEL, revocation);
}

/** Closes, in this process's rooms, the connections every announced revocation covers. */
export async function hearRevocations(
  presence: Presence,
  ownership: Ownership,
  generations: GenerationCache,
): Promise<void> {
  await presence.subscribe(CHANNEL, (message: unknown) => {
    const revocation = parse(message);
    if (!revocation) return;
    // before the rooms: a join admitted next checks the generation again (UniverseRoom.admit)
    generations.raise(revocation.playerId, revocation.generation);
    for (const universeId of ownership.openUniverses()) {
      const room = matchMaker.getLocalRoomById(universeId) as UniverseRoom | undefined;
      room?.revoke(revocation.playerId, revocation.generation);
    }
  });
}

function parse(message: unknown): Revocation | null {
  if (typeof message !== "object" || message === null) return null;
  const { playerId, generation } = message as Partial<Revocation>;
  if (typeof playerId !== "string" || !Number.isInteger(generation)) return null;
  return { playerId, generation: generation! };
}
