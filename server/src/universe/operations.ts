import {
  defaultUndoTarget,
  isRejection,
  playersLatestTurn,
  reject,
  RejectionCode,
  type Actor,
  type Delta,
  type Recap,
  type Rejection,
  type Telling,
  type Turn,
  type PersonActor,
} from "@loom/shared";
import type { RunRecord, TurnStore } from "../persist/turn-store.ts";
import type { NewRun, RunStart } from "../persist/membership-store.ts";
import { services } from "../services.ts";
import type { SubmitRequest, UniverseAuthority } from "./authority.ts";
import { endRun, pauseRun, recapFor } from "./continuity.ts";
import type { UniverseNarration } from "../narrator/universe-narration.ts";

/**
 * Timeline operations other than plain commands, shared by room messages and the HTTP API.
 * Each returns plain data so it can also run on the owning process through a remote room call.
 */
export type OperationResult = { ok: true; turn: Turn; run?: RunRecord } | { ok: false; rejection: Rejection };

export interface OperationContext {
  authority: UniverseAuthority;
  turnStore: TurnStore;
  /** The universe's narration here; null when narration is off. */
  narration?: UniverseNarration | null;
}

export async function undo(
  ctx: OperationContext,
  actor: Actor,
  position?: number,
  client?: { key: string; seq: number },
): Promise<OperationResult> {
  const { authority } = ctx;
  const target = position ?? defaultUndoTarget(authority.decidedTurns, actor);
  // a retry is answered with its turn by the authority, whatever the player did since
  if (actor.kind === "player" && position !== undefined && !(client && authority.isRetry(client))) {
    const latest = playersLatestTurn(authority.decidedTurns, actor.playerId);
    if (latest?.position !== position)
      return {
        ok: false,
        rejection: reject(
          RejectionCode.NotAllowed,
          `a player undoes only the last thing they did${lastThing(latest)}, not turn ${position}; ask your game master`,
        ),
      };
  }
  // the latest turn one may undo comes before a branch's start: nothing in this branch is to undo
  if (target === null || (position === undefined && target <= (authority.universe.branchPosition ?? 0)))
    return { ok: false, rejection: reject(RejectionCode.NothingToUndo, "there is no turn you may undo") };
  if (authority.universe.branchPosition !== null && target <= authority.universe.branchPosition) {
    return {
      ok: false,
      rejection: reject(
        RejectionCode.NotAllowed,
        `turn ${target} is before this branch's start; undo it in the parent or branch earlier`,
      ),
    };
  }
  const earlier = await turnsToUndoFrom(ctx, actor, target);
  if (earlier && "code" in earlier) return { ok: false, rejection: earlier };
  // an undo may reopen a run (the undo of its ending): a lifecycle change like any other, and as a
  // resume is, refused while the character has another run open here; a retry is answered with its
  // turn (or refused as stale) by the authority's screen, whatever the runs are now
  let reopening = false;
  const deciding = authority.lifecycle(async () => {
    const ended = client && authority.isRetry(client) ? null : await runEndedAt(ctx, target);
    // another player's run is not looked into: the rules refuse that undo as not theirs
    const reopened = ended && (actor.kind !== "player" || ended.playerId === actor.playerId) ? ended : null;
    const open = reopened && (await openRunBeside(ctx, reopened));
    if (open) return { ok: false as const, rejection: openRunRefusal(open) };
    reopening = reopened !== null;
    return authority.submit({
      actor,
      command: { kind: "undo", targetPosition: target },
      client,
      ...(earlier && { earlier }),
    });
  });
  // the turns held are read when the undo is decided, and kept no longer
  const result = await deciding.finally(() => earlier?.held.release());
  // a run reopened is read from its record (the run, the dashboard, the player's progression):
  // the answer waits for the record, as a run's ending does
  if (result.ok && reopening) await authority.whenPersisted(result.turn.position).catch(() => undefined);
  return result.ok ? { ok: true, turn: result.turn } : result;
}

/** The last thing a player did, as a refusal of an undo of another turn names it. */
function lastThing(latest: Turn | null): string {
  if (latest === null) return " (theirs is too far back)";
  if (latest.kind === "undo") return `, turn ${latest.position}, took back their turn before`;
  if (latest.kind === "session_start") return `, turn ${latest.position}, brought them to the table`;
  return ` (turn ${latest.position})`;
}

/** The most turns an undo reads from the database to decide whether a turn far back may be undone. */
const UNDO_READS_MOST = 10_000;

/**
 * The turns from `target` on that the authority may no longer keep when the undo is decided: an
 * undo is decided against every turn since its target, and the authority keeps the latest 200.
 * Those before the turns it holds now are read from the TurnStore; the hold keeps every turn
 * acknowledged from now on, which leave its recent window as the table plays while the undo reads
 * and waits for its turn in the lifecycle queue. Undefined in a universe with no turns yet. The
 * caller releases the hold.
 */
async function turnsToUndoFrom(
  ctx: OperationContext,
  actor: Actor,
  target: number,
): Promise<SubmitRequest["earlier"] | Rejection> {
  const { authority, turnStore } = ctx;
  const first = authority.decidedTurns[0]?.position;
  if (first === undefined) return undefined;
  // a player undoes what they just did; reading back thousands of turns is a game master's to ask
  if (actor.kind === "player" && target < first)
    return reject(
      RejectionCode.NotAllowed,
      `turn ${target} is too far back for a player to undo; ask your game master`,
    );
  if (first - target > UNDO_READS_MOST)
    return reject(
      RejectionCode.NotAllowed,
      `turn ${target} is more than ${UNDO_READS_MOST} turns back to be undone; set what it changed with a retcon instead`,
    );
  const held = authority.holdTurns();
  try {
    const stored =
      target < held.from
        ? await turnStore.turnsBetween(authority.universe.id, target - 1, held.from - 1)
        : [];
    return { stored, held };
  } catch (error) {
    held.release();
    throw error;
  }
}

/** The run whose ending the turn at `position` is, if it is one (an undo of it reopens the run). */
async function runEndedAt(ctx: OperationContext, position: number): Promise<RunRecord | null> {
  const { authority, turnStore } = ctx;
  const turn =
    authority.decidedTurns.find((recent) => recent.position === position) ??
    (await turnStore.getTurn(authority.universe.id, position));
  const runId = turn?.input.kind === "run_end" ? turn.input.runId : undefined;
  if (typeof runId !== "string") return null;
  const run = await turnStore.getRun(runId);
  return run && run.universeId === authority.universe.id ? run : null;
}

function openRunRefusal(open: RunRecord): Rejection {
  return reject(
    RejectionCode.Conflict,
    `the character already has an open run here (${open.id}): finish or abandon it first`,
  );
}

export async function retcon(
  ctx: OperationContext,
  actor: Actor,
  note: string,
  deltas: Delta[],
  client?: { key: string; seq: number },
): Promise<OperationResult> {
  const result = await ctx.authority.submit({ actor, command: { kind: "retcon", note, deltas }, client });
  return result.ok ? { ok: true, turn: result.turn } : result;
}

/** A run of this universe that the actor may change: its player's, or any for a GM. */
async function runOf(
  ctx: OperationContext,
  actor: PersonActor,
  runId: string,
): Promise<RunRecord | Rejection> {
  const run = await ctx.turnStore.getRun(runId);
  if (!run || run.universeId !== ctx.authority.universe.id)
    return reject(RejectionCode.UnknownRun, `no run ${runId} in this universe`);
  if (actor.kind === "player" && run.playerId !== actor.playerId) {
    return reject(RejectionCode.NotYourCharacter, "this run belongs to another player");
  }
  return run;
}

/**
 * Another run of the same character in this universe that is still open: a character plays one run
 * at a time here, so an abandoned run is resumed only once any run started after it is over.
 */
async function openRunBeside(
  ctx: OperationContext,
  run: Pick<RunRecord, "id" | "characterId" | "universeId">,
): Promise<RunRecord | undefined> {
  const runs = await ctx.turnStore.listRuns({ characterId: run.characterId, universeId: run.universeId });
  return runs.find((other) => {
    if (other.id === run.id) return false;
    const state = ctx.authority.runState(other);
    return state === "active" || state === "paused";
  });
}

export async function finishRun(
  ctx: OperationContext,
  actor: PersonActor,
  runId: string,
  outcome: "completed" | "abandoned",
  reason: string | null,
): Promise<OperationResult> {
  return ctx.authority.lifecycle(async (): Promise<OperationResult> => {
    const run = await runOf(ctx, actor, runId);
    if (isRejection(run)) return { ok: false, rejection: run };
    const ended = await endRun(ctx.turnStore, ctx.authority, run, outcome, reason, actor);
    if ("rejected" in ended) return { ok: false, rejection: ended };
    return { ok: true, turn: ended.turn, run: ended.run };
  });
}

/**
 * A new run of a character here, refused while another is open. In the universe's lifecycle
 * queue, and judged by the runs' states as this universe has them: a resume or an undo of an
 * ending decided a moment ago is not in the database yet, which alone would let a run start
 * beside the one it reopened.
 */
export async function startRun(ctx: OperationContext, run: NewRun): Promise<RunStart> {
  return ctx.authority.lifecycle(async (): Promise<RunStart> => {
    const open = await openRunBeside(ctx, run);
    if (open) return { ok: false, reason: "run_open", open };
    return services().memberships.startRun(run);
  });
}

/** Pauses or resumes a run, with a `run_pause` turn: who may act changes, the story does not. */
export async function setRunPaused(
  ctx: OperationContext,
  actor: PersonActor,
  runId: string,
  paused: boolean,
): Promise<OperationResult> {
  return ctx.authority.lifecycle(async (): Promise<OperationResult> => {
    const run = await runOf(ctx, actor, runId);
    if (isRejection(run)) return { ok: false, rejection: run };
    if (!paused && ctx.authority.runState(run) === "abandoned") {
      const open = await openRunBeside(ctx, run);
      if (open) return { ok: false, rejection: openRunRefusal(open) };
    }
    const changed = await pauseRun(ctx.turnStore, ctx.authority, run, paused, actor);
    if ("rejected" in changed) return { ok: false, rejection: changed };
    return { ok: true, turn: changed.turn, run: changed.run };
  });
}

/**
 * Retellings a turn keeps at most. Each is stored on the turn and travels with it (its row, every
 * read of it, the recent turns a member joins with, its line of an export), so a game master
 * asking again and again would otherwise grow one turn past what an export may import.
 */
export const RETELLINGS_MAX = 20;

/**
 * A game master's retelling of a turn: narrated again (and streamed to the room), then appended to
 * the turn's narration; the first telling is never replaced. Only a turn already told, and one of
 * this universe's own (a branch's inherited turns are the parent's).
 */
export function retell(
  ctx: OperationContext,
  position: number,
): Promise<{ ok: true; narration: Telling } | { ok: false; rejection: Rejection }> {
  // one at a time in a universe (its owner's process runs them all): two asked at once would
  // both count the retellings before either is written, and pass RETELLINGS_MAX together
  const before = retellings.get(ctx.authority) ?? Promise.resolve();
  const next = before.catch(() => undefined).then(() => retellNow(ctx, position));
  retellings.set(ctx.authority, next);
  return next;
}

const retellings = new WeakMap<UniverseAuthority, Promise<unknown>>();

async function retellNow(
  ctx: OperationContext,
  position: number,
): Promise<{ ok: true; narration: Telling } | { ok: false; rejection: Rejection }> {
  const { authority, turnStore, narration } = ctx;
  if (!narration)
    return { ok: false, rejection: reject(RejectionCode.NotAllowed, "narration is off on this server") };
  if (authority.universe.branchPosition !== null && position <= authority.universe.branchPosition)
    return {
      ok: false,
      rejection: reject(
        RejectionCode.NotAllowed,
        `turn ${position} belongs to the parent universe; retell it there`,
      ),
    };
  if (position > authority.head)
    return { ok: false, rejection: reject(RejectionCode.NotFound, `no turn at position ${position}`) };
  await authority.whenPersisted(position).catch(() => undefined);
  const turn =
    position <= authority.persistedThrough ? await turnStore.getTurn(authority.universe.id, position) : null;
  if (!turn)
    return { ok: false, rejection: reject(RejectionCode.NotFound, `no turn at position ${position}`) };
  if (!turn.narration)
    return {
      ok: false,
      rejection: reject(
        RejectionCode.Conflict,
        `turn ${position} is still being told; retell it once it has been`,
      ),
    };
  if ((turn.narration.retellings?.length ?? 0) >= RETELLINGS_MAX)
    return {
      ok: false,
      rejection: reject(
        RejectionCode.Conflict,
        `turn ${position} has been told again ${RETELLINGS_MAX} times, as often as a turn may be`,
      ),
    };
  const recent = await turnStore.turnsBetween(authority.universe.id, Math.max(0, position - 9), position - 1);
  // told from the world as the turn left it, as it was told the first time: the head's holds what
  // happened since, which the turn's prose must not know, and which the members of a branch that
  // shares this turn may not read
  const { state } = await turnStore.stateWithoutChecksum(authority.universe.id, position);
  const told = await narration.retell(turn, state, recent);
  if (!told)
    return { ok: false, rejection: reject(RejectionCode.Unavailable, "the universe closed; try again") };
  await turnStore.appendRetelling(authority.universe.id, position, told);
  authority.noteRetelling(position, told);
  return { ok: true, narration: told };
}

/**
 * "Last time on…" for a run of this universe as of now: every acknowledged turn in it, those the
 * database does not have yet included. Null for a run of another universe.
 */
export async function recap(ctx: OperationContext, runId: string): Promise<Recap | null> {
  const { authority, turnStore } = ctx;
  // the run's record follows its turns: read after those so far are written (recapFor)
  await authority.flush();
  const run = await turnStore.getRun(runId);
  if (!run || run.universeId !== authority.universe.id) return null;
  return recapFor(turnStore, authority, run, authority.state, authority.head);
}

/** Writes pending turns now (e.g. before branching at the newest position). */
export async function flush(ctx: OperationContext): Promise<{ ok: true; persistedThrough: number }> {
  await ctx.authority.drain(5_000);
  return { ok: true, persistedThrough: ctx.authority.persistedThrough };
}

/**
 * The owner's marks: the newest acknowledged position, how far the live store holds the turns
 * durably (the write-ahead log's fdatasync, Redis' stream; with a memory live store only what is
 * persisted) and how far the database has them.
 */
export async function marks(
  ctx: OperationContext,
): Promise<{ ok: true; head: number; durableThrough: number; persistedThrough: number }> {
  const { authority } = ctx;
  return {
    ok: true,
    head: authority.head,
    durableThrough: authority.durableThrough,
    persistedThrough: authority.persistedThrough,
  };
}

/** A snapshot of the current state on request (GM), written with the next flush. */
export async function snapshot(ctx: OperationContext): Promise<{ ok: true; position: number }> {
  const position = ctx.authority.requestSnapshot();
  await ctx.authority.drain(5_000);
  return { ok: true, position };
}

/**
 * Reveals the universe's dice secret (GM). The authority stops rolling first, so no roll is ever
 * decided with a secret that is already public; turns decided before stand.
 */
export async function revealDice(ctx: OperationContext): Promise<{ ok: true; revealedAt: string }> {
  ctx.authority.sealDice();
  return { ok: true, revealedAt: await ctx.turnStore.revealDice(ctx.authority.universe.id) };
}

export const operations = {
  undo,
  retcon,
  finishRun,
  setRunPaused,
  startRun,
  flush,
  marks,
  snapshot,
  revealDice,
  retell,
  recap,
} as const;
export type OperationName = keyof typeof operations;
