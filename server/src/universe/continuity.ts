import {
  buildRecap,
  isRejection,
  milestonesFor,
  reject,
  RECAP_LIMITS,
  reopenCompletedRun,
  RejectionCode,
  selectWhileAway,
  summarizeSession,
  transitionRun,
  type Recap,
  type Rejection,
  type Turn,
  type TurnKind,
  type UniverseState,
} from "@loom/shared";
import type { RunRecord, TurnStore } from "../persist/turn-store.ts";
import type { UniverseAuthority } from "./authority.ts";

/**
 * Runs, play sessions, recaps and progression around one universe's authority: the bookkeeping
 * that turns the timeline into a player's story over months. The turns themselves (session
 * markers, run endings) go through the authority like any other; records follow them.
 */

/** Run turns a recap reads: its last ten story turns, with room for session markers between. */
const RECENT_RUN_TURNS = 100;

/** Turns that count toward a run's length, milestones and progression. */
export const PLAYED_KINDS: ReadonlySet<TurnKind> = new Set(["action", "choice", "custom", "combat"]);

export interface OpenSession {
  id: string;
  runId: string;
  characterId: string;
  playerId: string;
  startPosition: number;
  /** The state when the session began, for the end-of-session summary (structurally shared). */
  before: UniverseState;
}

async function pages(
  turnStore: TurnStore,
  universeId: string,
  query: { runId?: string; from?: number },
): Promise<Turn[]> {
  const turns: Turn[] = [];
  let cursor: number | undefined = query.from;
  for (;;) {
    const page = await turnStore.timeline(universeId, {
      runId: query.runId,
      order: "asc",
      limit: 500,
      cursor,
    });
    turns.push(...page.turns);
    if (page.nextCursor === null || page.turns.length === 0) return turns;
    cursor = page.nextCursor;
  }
}

/** Persisted turns plus the authority's not-yet-persisted ones, by position, without duplicates. */
function withUnpersisted(
  authority: UniverseAuthority | null,
  persisted: Turn[],
  keep: (turn: Turn) => boolean,
): Turn[] {
  if (!authority) return persisted;
  const last = persisted.length > 0 ? persisted[persisted.length - 1]!.position : 0;
  return [...persisted, ...authority.recentTurns.filter((turn) => turn.position > last && keep(turn))];
}

export async function runTurns(
  turnStore: TurnStore,
  authority: UniverseAuthority | null,
  run: RunRecord,
): Promise<Turn[]> {
  if (authority) await authority.flush();
  const turns = await pages(turnStore, run.universeId, { runId: run.id });
  return withUnpersisted(authority, turns, (turn) => turn.runId === run.id);
}

export function playedCount(turns: readonly Turn[]): number {
  return turns.filter((turn) => turn.status === "applied" && PLAYED_KINDS.has(turn.kind)).length;
}

/** "Last time on…" for a run, from the log: deterministic for the same timeline. */
export async function recapFor(
  turnStore: TurnStore,
  authority: UniverseAuthority | null,
  run: RunRecord,
  state: UniverseState,
  head: number,
): Promise<Recap> {
  // The recap shows the run's last ten story turns: the newest page of the run is enough.
  if (authority) await authority.flush();
  const newest = await turnStore.timeline(run.universeId, {
    runId: run.id,
    order: "desc",
    limit: RECENT_RUN_TURNS,
  });
  const mine = withUnpersisted(authority, newest.turns.reverse(), (turn) => turn.runId === run.id);
  const since = run.lastSessionEndPosition ?? 0;
  // "While you were away" from the index of major turns, newest first and capped: a fresh run
  // (since 0) in a universe of a million turns reads what it reads in one of ten thousand.
  const stored = Math.min(head, authority?.persistedThrough ?? head);
  const away = await turnStore.awayTurns(run.universeId, {
    after: since,
    through: stored,
    characterId: run.characterId,
    limit: RECAP_LIMITS.whileYouWereAway,
    countUpTo: RECAP_LIMITS.awayCounted + 1,
  });
  const pending = selectWhileAway(
    (authority?.recentTurns ?? []).filter((turn) => turn.position > stored && turn.position <= head),
    run.characterId,
    since,
  );
  return buildRecap({
    state,
    characterId: run.characterId,
    runTurns: mine,
    othersSince: [...away.turns, ...pending],
    awayTotal: away.total + pending.length,
    previousSessionEnd: run.lastSessionEndPosition,
    head,
  });
}

export async function startPlaySession(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  playerId: string,
  newId: () => string,
  refresh = true,
): Promise<{ session: OpenSession; recap: Recap } | Rejection> {
  const recap = await recapFor(turnStore, authority, run, authority.state, authority.head);
  const before = authority.state;
  const started = await authority.submit({
    actor: { kind: "player", playerId },
    command: { kind: "session_start", characterId: run.characterId, refresh },
    runId: run.id,
    characterId: run.characterId,
  });
  if (!started.ok) return started.rejection;
  const record = await turnStore.startSession({
    id: newId(),
    runId: run.id,
    universeId: run.universeId,
    startPosition: started.turn.position,
  });
  await turnStore.updateRun(run.id, { sessionCount: run.sessionCount + 1 });
  return {
    session: {
      id: record.id,
      runId: run.id,
      characterId: run.characterId,
      playerId,
      startPosition: started.turn.position,
      before,
    },
    recap,
  };
}

export async function endPlaySession(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  session: OpenSession,
): Promise<Turn | Rejection> {
  const run = await turnStore.getRun(session.runId);
  if (!run) return reject(RejectionCode.UnknownRun, `run ${session.runId} is gone`);
  const turns = await runTurns(turnStore, authority, run);
  const sessionTurns = turns.filter((turn) => turn.position >= session.startPosition);
  const summary = summarizeSession({
    state: authority.state,
    before: session.before,
    characterId: session.characterId,
    sessionTurns,
  });
  const ended = await authority.submit({
    actor: { kind: "player", playerId: session.playerId },
    command: { kind: "session_end", characterId: session.characterId, summary: summary.text },
    runId: run.id,
    characterId: session.characterId,
  });
  if (!ended.ok) return ended.rejection;
  const turnCount = playedCount(turns);
  await turnStore.endSession(session.id, { endPosition: ended.turn.position, summary: summary.text });
  await turnStore.updateRun(run.id, {
    turnCount,
    milestones: milestonesFor(turnCount),
    lastSessionEndPosition: ended.turn.position,
  });
  return ended.turn;
}

/**
 * Ends a run with a `run_end` turn, then records it: a completed run credits its player's
 * progression exactly once; an abandoned one never does.
 */
export async function endRun(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  outcome: "completed" | "abandoned",
  reason: string | null,
  actor: { kind: "player" | "gm"; playerId: string },
): Promise<{ run: RunRecord; turn: Turn } | Rejection> {
  const moved = transitionRun(run, outcome, reason ?? undefined);
  if (isRejection(moved)) return moved;
  const ended = await authority.submit({
    actor,
    command: { kind: "run_end", characterId: run.characterId, runId: run.id, outcome, reason },
    runId: run.id,
    characterId: run.characterId,
  });
  if (!ended.ok) return ended.rejection;
  const turnCount = playedCount(await runTurns(turnStore, authority, run));
  const updated = await turnStore.updateRun(run.id, {
    state: outcome,
    completionReason: outcome === "completed" ? (reason ?? "completed") : null,
    completedAtPosition: outcome === "completed" ? ended.turn.position : null,
    turnCount,
    milestones: milestonesFor(turnCount),
  });
  if (outcome === "completed") await turnStore.creditCompletion(updated, ended.turn.createdAt);
  return { run: updated, turn: ended.turn };
}

/**
 * After an undo turn: if it undid a run's ending, reopen the run (and revoke the progression a
 * completion credited). Returns the id of the reopened run.
 */
export async function afterUndo(
  turnStore: TurnStore,
  undone: Turn | undefined,
  now: string,
): Promise<string | null> {
  if (!undone || undone.input.kind !== "run_end" || typeof undone.input.runId !== "string") return null;
  const run = await turnStore.getRun(undone.input.runId);
  if (!run) return null;
  if (run.state === "completed" && run.completedAtPosition === undone.position) {
    const reopened = reopenCompletedRun(run);
    if (isRejection(reopened)) return null;
    const updated = await turnStore.updateRun(run.id, {
      state: "active",
      completionReason: null,
      completedAtPosition: null,
    });
    await turnStore.revokeCompletion(updated, now);
    return run.id;
  }
  if (run.state === "abandoned") {
    await turnStore.updateRun(run.id, { state: "active" });
    return run.id;
  }
  return null;
}
