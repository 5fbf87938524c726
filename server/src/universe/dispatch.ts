import { matchMaker } from "@colyseus/core";
import { services } from "../services.ts";
import { log } from "../log.ts";
import type { UniverseRoom } from "../rooms/universe-room.ts";
import { LiveReads } from "./live-reads.ts";
import type { operations, OperationName } from "./operations.ts";

type Operation<N extends OperationName> = (typeof operations)[N];
type Rest<N extends OperationName> =
  Operation<N> extends (ctx: never, ...rest: infer A) => unknown ? A : never;
type Result<N extends OperationName> = Awaited<ReturnType<Operation<N>>>;

/**
 * How long an operation sent to the process that owns the universe may take to answer: an owner
 * that waits on its database or a busy thread a few seconds still answers (Colyseus's own two
 * seconds had a write reported failed that the owner then made).
 */
const REMOTE_OPERATION_MS = 15_000;

/** The owner did not answer an operation in time: it may have been made. */
export class OutcomeUnknownError extends Error {
  constructor(universeId: string, operation: string) {
    super(
      `the process serving universe ${universeId} did not answer ${operation} within ${REMOTE_OPERATION_MS / 1000} s: it may have been done; send it again with the same Idempotency-Key to have it done at most once`,
    );
    this.name = "OutcomeUnknownError";
  }
}

async function remoteOperation<N extends OperationName>(
  universeId: string,
  name: N,
  args: Rest<N>,
): Promise<Result<N>> {
  try {
    return (await matchMaker.remoteRoomCall(
      universeId,
      "runOperation",
      [name, args],
      REMOTE_OPERATION_MS,
    )) as Result<N>;
  } catch (error) {
    // Colyseus says every failure of a remote call so, the owner's silence among them
    if (error instanceof Error && error.message.includes("timed out"))
      throw new OutcomeUnknownError(universeId, name);
    throw error;
  }
}

/**
 * Runs a timeline operation in the universe's room, wherever it lives: opened through the locked
 * path, then called directly when this process owns it, or by a remote room call otherwise.
 */
export async function callUniverse<N extends OperationName>(
  universeId: string,
  name: N,
  ...args: Rest<N>
): Promise<Result<N>> {
  await services().ownership.open(universeId);
  const local = matchMaker.getLocalRoomById(universeId) as UniverseRoom | undefined;
  if (local) return (await local.runOperation(name, args)) as Result<N>;
  return remoteOperation(universeId, name, args);
}

/**
 * Closes a player's connections to the universe's room wherever it is open; nothing to do when it
 * is not (a room opened later checks membership at every join).
 */
export async function expelFromUniverse(universeId: string, playerId: string): Promise<void> {
  await callRoomIfOpen(universeId, "expel", [playerId]);
}

/**
 * Tells the universe's game masters, wherever its room is open, that its members or invites
 * changed. A failure is logged, never the request's: the change is made, and a console also reads
 * its lists now and then.
 */
export async function tellMembersChanged(universeId: string): Promise<void> {
  try {
    await callRoomIfOpen(universeId, "membersChanged", []);
  } catch (error) {
    log.warn(`universe ${universeId}: could not tell its game masters of a change of members`, {
      err: error,
      universeId,
    });
  }
}

/**
 * Closes the connections the universe no longer admits (it turned private, or was handed to one
 * player), wherever its room is open; nothing to do when none is (a join checks afresh).
 */
export async function checkSeatsIn(universeId: string): Promise<void> {
  await callRoomIfOpen(universeId, "checkSeats", []);
}

/** The room methods called on a universe's room wherever it is open, and nowhere when none is. */
type RoomCall = {
  [M in "expel" | "membersChanged" | "checkSeats"]: [M, Parameters<UniverseRoom[M]>];
}["expel" | "membersChanged" | "checkSeats"];

async function callRoomIfOpen(universeId: string, ...[method, args]: RoomCall): Promise<void> {
  const local = matchMaker.getLocalRoomById(universeId) as UniverseRoom | undefined;
  if (local) {
    // called on the room itself (`this`), as the remote call is
    await (local[method] as (...a: unknown[]) => unknown).apply(local, args);
    return;
  }
  if ((await matchMaker.query({ roomId: universeId })).length === 0) return;
  await matchMaker.remoteRoomCall(universeId, method, args);
}

/**
 * Runs an operation in the universe's room only if one is open, in this process or another: null
 * when none is (for reads that must not open a universe, such as the dashboard's marks).
 */
export async function callOpenUniverse<N extends OperationName>(
  universeId: string,
  name: N,
  ...args: Rest<N>
): Promise<Result<N> | null> {
  const local = matchMaker.getLocalRoomById(universeId) as UniverseRoom | undefined;
  if (local) return (await local.runOperation(name, args)) as Result<N>;
  // a listing left by a process that died would have the call wait for an answer that never comes
  if (!(await services().ownership.listed(universeId))) return null;
  return remoteOperation(universeId, name, args);
}

/**
 * Runs an operation where the universe's acknowledged turns are: in its open room; or, when none
 * is open but its live stream holds turns the database lacks (a room still closing as the call
 * comes, its process gone), in the room opened for it, which waits for the closing one. Null when
 * the database holds every acknowledged turn: the caller reads it there, opening nothing.
 */
export async function callUniverseHoldingTurns<N extends OperationName>(
  universeId: string,
  name: N,
  ...args: Rest<N>
): Promise<Result<N> | null> {
  const open = await callOpenUniverse(universeId, name, ...args);
  if (open !== null) return open;
  const { turnStore, liveStore } = services();
  const tail = await new LiveReads(turnStore, liveStore).tail(universeId);
  if (!tail || tail.turns.length === 0) return null;
  return callUniverse(universeId, name, ...args);
}
