import {
  buildCharacter,
  buildRecap,
  canonicalJson,
  DeltaError,
  evolve,
  invertDeltas,
  storedCharacterSheetSchema,
  isRejection,
  LIMITS,
  MEANWHILE_MAX,
  pointer,
  RejectionCode,
  RECAP_LIMITS,
  selectWhileAway,
  sessionEndedThrough,
  summarizeSession,
  transitionRun,
  undoTargetOf,
  type Delta,
  type Recap,
  type Rejection,
  type SessionEndReason,
  type Turn,
  type UniverseState,
  type PersonActor,
  reject,
} from "@loom/shared";
import { log } from "../log.ts";
import { describeError } from "../describe-error.ts";
import type { RunRecord, TurnStore } from "../persist/turn-store.ts";
import type { UniverseAuthority } from "./authority.ts";

/**
 * Runs, play sessions, recaps and progression around one universe's authority: the bookkeeping
 * that turns the timeline into a player's story over months. Nothing here writes a record: the
 * turns (session markers, run endings and pauses) go through the authority like any other, and
 * the records follow them when they are persisted (persist/project.ts).
 */

/** Run turns a recap reads: its last ten story turns, with room for session markers between. */
const RECENT_RUN_TURNS = 100;

/** Session ends a recap reads for the others' sessions: the newest, with room for the run's own. */
const SESSION_ENDS_READ = 4 * RECAP_LIMITS.othersSessions;

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

/** "Last time on…" for a run, from the log: deterministic for the same timeline. */
export async function recapFor(
  turnStore: TurnStore,
  authority: UniverseAuthority | null,
  run: RunRecord,
  state: UniverseState,
  head: number,
): Promise<Recap> {
  // The recap shows the run's last ten story turns: the newest page of the run is enough. `run`
  // must be read after the turns so far were persisted (PlaySessions.open does both).
  if (authority) await authority.flush();
  const newest = await turnStore.timeline(run.universeId, {
    runId: run.id,
    order: "desc",
    limit: RECENT_RUN_TURNS,
  });
  const mine = withUnpersisted(authority, newest.turns.reverse(), (turn) => turn.runId === run.id);
  const told = await runToldBefore(turnStore, authority, run);
  const toldTurns = told === run ? mine : [];
  const previousEnd = await previousEndOf(turnStore, told, toldTurns);
  let previousSummary = await previousSummaryOf(turnStore, told, toldTurns);
  if (previousSummary === "" && told === run && run.lastSessionEndPosition !== null) {
    // every session of the run a glance so far (or all its play undone since): "Last time on…"
    // is still the run that played before it, as it was before the glance
    const earlier = await runToldBefore(turnStore, null, run, await firstSessionStart(turnStore, run));
    if (earlier !== run) previousSummary = await previousSummaryOf(turnStore, earlier, []);
  }
  const since = previousEnd ?? 0;
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
  // what the others did meanwhile, session by session: the newest session ends, this run's among them
  const ends = await turnStore.timeline(run.universeId, {
    kind: "session_end",
    order: "desc",
    limit: SESSION_ENDS_READ,
  });
  const othersSessions = withUnpersisted(
    authority,
    ends.turns.reverse(),
    (turn) => turn.kind === "session_end",
  );
  const inStory = Object.prototype.hasOwnProperty.call(state.characters, run.characterId);
  return buildRecap({
    state,
    characterId: run.characterId,
    characterName: inStory ? undefined : (await turnStore.getCharacter(run.characterId))?.name,
    runTurns: mine,
    othersSince: [...away.turns, ...pending],
    awayTotal: away.total + pending.length,
    othersSessions,
    previousSessionEnd: previousEnd,
    previousSummary,
    head,
    universeName: (authority?.universe ?? (await turnStore.getUniverse(run.universeId)))?.name,
  });
}

/**
 * The run whose sessions "Last time on…" goes on from: the run itself once it has played a
 * session; before that, the run of the character's latest session in this universe's timeline (a
 * new run of a character who has played here, or in the parent before a branch, is no first
 * arrival), read as if it were this universe's and had ended its sessions there.
 */
async function runToldBefore(
  turnStore: TurnStore,
  authority: UniverseAuthority | null,
  run: RunRecord,
  /** Look before this position (the run's first session), the run's own sessions aside. */
  before?: number,
): Promise<RunRecord> {
  if (before === undefined && run.lastSessionEndPosition !== null) return run;
  // the timeline of a branch goes on into its parent's before the branch's start
  const page = await turnStore.timeline(run.universeId, {
    characterId: run.characterId,
    kind: "session_end",
    order: "desc",
    limit: 1,
    ...(before !== undefined && { cursor: before }),
  });
  const stored = page.turns[0] ?? null;
  const pending =
    before === undefined
      ? authority?.recentTurns.findLast(
          (turn) => turn.kind === "session_end" && turn.characterId === run.characterId,
        )
      : undefined;
  const end = pending && (!stored || pending.position > stored.position) ? pending : stored;
  const earlier = end?.runId && end.runId !== run.id ? await turnStore.getRun(end.runId) : null;
  return earlier ? { ...earlier, universeId: run.universeId, lastSessionEndPosition: end!.position } : run;
}

/** Where the run's first session started: the run's sessions are its own from there. */
async function firstSessionStart(turnStore: TurnStore, run: RunRecord): Promise<number> {
  const sessions = await turnStore.listSessions(run.id);
  return Math.min(...sessions.map((session) => session.startPosition), run.lastSessionEndPosition ?? 0);
}

/**
 * Where the run's previous session ended, the start of "while you were away": its `session_end`
 * turn, or where the universe stood when its player dropped if the session ended because she did
 * not come back (what the others did while her seat was kept is news to her).
 */
async function previousEndOf(
  turnStore: TurnStore,
  run: RunRecord,
  mine: readonly Turn[],
): Promise<number | null> {
  const at = run.lastSessionEndPosition;
  if (at === null) return null;
  const end = mine.find((turn) => turn.position === at) ?? (await turnStore.getTurn(run.universeId, at));
  return end?.kind === "session_end" ? sessionEndedThrough(end) : at;
}

/** The run's turns at or before `through`, newest first: `newest` (ascending), then older pages. */
async function* runTurnsBackFrom(
  turnStore: TurnStore,
  run: RunRecord,
  newest: readonly Turn[],
  through: number,
): AsyncGenerator<Turn> {
  for (let i = newest.length - 1; i >= 0; i--) if (newest[i]!.position <= through) yield newest[i]!;
  let cursor = newest.length > 0 ? newest[0]!.position : through + 1;
  for (;;) {
    const page = await turnStore.timeline(run.universeId, {
      runId: run.id,
      order: "desc",
      limit: RECENT_RUN_TURNS,
      cursor,
    });
    for (const turn of page.turns) if (turn.position <= through) yield turn;
    if (page.nextCursor === null || page.turns.length === 0) return;
    cursor = page.nextCursor;
  }
}

/**
 * "Last time on…": the summary of the run's latest session in which its character played (a
 * glance at the table ends with an empty one), as its turns stand now. The summary was written
 * when the session ended; a turn of it undone since is no longer told: the session is summed up
 * again from its turns and the states it began and ended in ("" if nothing of it is left).
 */
async function previousSummaryOf(
  turnStore: TurnStore,
  run: RunRecord,
  mine: readonly Turn[],
): Promise<string> {
  const at = run.lastSessionEndPosition;
  if (at === null) return "";
  let end: Turn | null = null;
  let played: Turn[] = [];
  for await (const turn of runTurnsBackFrom(turnStore, run, mine, at)) {
    if (!end) {
      if (turn.kind === "session_end" && summaryOf(turn) !== "") end = turn;
      continue;
    }
    if (turn.kind !== "session_start" && turn.kind !== "session_end") {
      played.push(turn);
      continue;
    }
    const summary = await asItStands(turnStore, run, turn, end, played);
    if (summary !== "") return summary;
    end = turn.kind === "session_end" && summaryOf(turn) !== "" ? turn : null;
    played = [];
  }
  // a session whose start is not in the log (cut off by a retention window) is told as it ended
  return end ? summaryOf(end) : "";
}

function summaryOf(turn: Turn): string {
  const summary = turn.input.summary;
  return typeof summary === "string" ? summary.trim() : "";
}

async function asItStands(
  turnStore: TurnStore,
  run: RunRecord,
  start: Turn,
  end: Turn,
  played: readonly Turn[],
): Promise<string> {
  // the state it ended in: where its player dropped, for a session that ended there
  const through = sessionEndedThrough(end) < end.position ? sessionEndedThrough(end) : end.position - 1;
  // a turn undone within the session is out of the summary written at its end already
  const [undone, retcons] = await Promise.all([
    undoneSince(turnStore, run.universeId, start.position, through, end.position),
    retconsSince(turnStore, run.universeId, end.position),
  ]);
  if (!undone && retcons.length === 0) return summaryOf(end);
  const [before, after, during] = await Promise.all([
    turnStore.stateWithoutChecksum(run.universeId, start.position - 1),
    turnStore.stateWithoutChecksum(run.universeId, through),
    turnsBetween(turnStore, run.universeId, start.position, through),
  ]);
  return summarizeSession({
    state: withRetcons(withoutUndoneSince(after.state, during), retcons),
    before: before.state,
    characterId: run.characterId,
    sessionTurns: [...played].reverse(),
  }).text;
}

/**
 * Whether an undo recorded after `since` took back a turn after `after` through `through`: one
 * of the game master's, or another player's, changes a session's quests and attitudes as much as
 * its own character's turns do. Undos are few; the timeline finds them by kind.
 */
async function undoneSince(
  turnStore: TurnStore,
  universeId: string,
  after: number,
  through: number,
  since: number,
): Promise<boolean> {
  let cursor = since;
  for (;;) {
    const page = await turnStore.timeline(universeId, { kind: "undo", order: "asc", limit: 500, cursor });
    for (const turn of page.turns) {
      const target = undoTargetOf(turn);
      if (target !== null && target > after && target <= through) return true;
    }
    if (page.nextCursor === null || page.turns.length === 0) return false;
    cursor = page.nextCursor;
  }
}

/** The retcons recorded after `since` that stand and change the state, ascending. */
async function retconsSince(turnStore: TurnStore, universeId: string, since: number): Promise<Turn[]> {
  const retcons: Turn[] = [];
  let cursor = since;
  for (;;) {
    const page = await turnStore.timeline(universeId, { kind: "retcon", order: "asc", limit: 500, cursor });
    for (const turn of page.turns)
      if (turn.status === "applied" && turn.deltas.length > 0) retcons.push(turn);
    if (page.nextCursor === null || page.turns.length === 0) return retcons;
    cursor = page.nextCursor;
  }
}

/**
 * A session's end state as the retcons since say it was: a game master's correction of canon
 * (a quest never resolved, an attitude that never turned) holds for the session it corrects.
 * Each delta is applied where it still applies to that earlier state; one that does not (a
 * member added since) is left out.
 */
function withRetcons(state: UniverseState, retcons: readonly Turn[]): UniverseState {
  let corrected = state;
  for (const retcon of retcons)
    for (const delta of retcon.deltas.flatMap(whatChanged)) {
      try {
        corrected = evolve(corrected, [delta]);
      } catch (error) {
        if (!(error instanceof DeltaError)) throw error;
      }
    }
  return corrected;
}

/**
 * What a recorded delta changed, member by member: a record set whole (a retcon that writes a
 * quest as it stands with one field corrected) changed only the members whose value differs from
 * the one it replaced. Applied to an earlier state, the correction carries no later change (a
 * quest resolved after the session) along with it.
 */
function whatChanged(delta: Delta): Delta[] {
  const { prev, value } = delta;
  if (delta.op !== "set" || !isRecord(prev) || !isRecord(value)) return [delta];
  const member = (key: string) => delta.path + pointer(key);
  const changes: Delta[] = [];
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(prev, key)) changes.push({ op: "set", path: member(key), value: value[key] });
    else if (canonicalJson(prev[key]) !== canonicalJson(value[key]))
      changes.push(...whatChanged({ op: "set", path: member(key), value: value[key], prev: prev[key] }));
  }
  for (const key of Object.keys(prev))
    if (!Object.hasOwn(value, key)) changes.push({ op: "unset", path: member(key), prev: prev[key] });
  return changes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The universe's turns after `after` through `through`, ascending. */
async function turnsBetween(
  turnStore: TurnStore,
  universeId: string,
  after: number,
  through: number,
): Promise<Turn[]> {
  const turns: Turn[] = [];
  let cursor = after;
  while (cursor < through) {
    const page = await turnStore.timeline(universeId, { order: "asc", limit: 500, cursor });
    for (const turn of page.turns) if (turn.position <= through) turns.push(turn);
    const last = page.turns.at(-1)?.position ?? through;
    if (page.nextCursor === null || last >= through) break;
    cursor = page.nextCursor;
  }
  return turns;
}

/**
 * A session's end state without the turns of it undone since it ended (`during`: its turns, in
 * order): each one's deltas taken back, newest first, so its quests, attitudes and stress are
 * those of the turns that stand. A turn undone within the session is already out of that state.
 * An undo may only take back a turn no later turn touched the same paths of, so each one's deltas
 * come off whatever followed it.
 */
function withoutUndoneSince(state: UniverseState, during: readonly Turn[]): UniverseState {
  const undoneWithin = new Set(during.map(undoTargetOf).filter((target) => target !== null));
  let stands = state;
  for (let i = during.length - 1; i >= 0; i--) {
    const turn = during[i]!;
    if (turn.status === "undone" && !undoneWithin.has(turn.position))
      stands = evolve(stands, invertDeltas(turn.deltas));
  }
  return stands;
}

/** The recap's newest "while you were away" lines, as a session's opening carries them. */
function meanwhileOf(recap: Recap): string[] {
  return recap.whileYouWereAway
    .slice(-MEANWHILE_MAX)
    .map((turn) => `${turn.characterName ?? "The world"}: ${turn.text}`.slice(0, LIMITS.textMax));
}

export async function startPlaySession(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  playerId: string,
  refresh = true,
): Promise<{ session: OpenSession; recap: Recap | null } | Rejection> {
  // the database may not answer (an outage): the player still sits down and plays, without the
  // recap, whose history is in the database
  const recap = await recapFor(turnStore, authority, run, authority.state, authority.head).catch(
    (error: unknown) => {
      log.warn(`universe ${authority.universe.id}: no recap for run ${run.id}: ${describeError(error)}`);
      return null;
    },
  );
  const before = authority.state;
  const started = await authority.submit({
    actor: { kind: "player", playerId },
    command: {
      kind: "session_start",
      characterId: run.characterId,
      refresh,
      ...(recap && recap.recentSummary !== "" ? { lastTime: recap.recentSummary } : {}),
      ...(recap && recap.whileYouWereAway.length > 0 ? { meanwhile: meanwhileOf(recap) } : {}),
      // a second tab of the run's first session (no refresh) is no first arrival
      ...(recap?.previousSessionEnd === null && refresh ? { first: true as const } : {}),
    },
    runId: run.id,
    characterId: run.characterId,
  });
  if (!started.ok) return started.rejection;
  return {
    session: {
      // the session's record is projected from this turn (persist/project.ts) and named after it
      id: started.turn.id,
      runId: run.id,
      characterId: run.characterId,
      playerId,
      startPosition: started.turn.position,
      before,
    },
    recap,
  };
}

/** The run's turns since `from` (inclusive), persisted or not. */
async function turnsSince(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  runId: string,
  from: number,
): Promise<Turn[]> {
  await authority.flush();
  const persisted = await pages(turnStore, authority.universe.id, { runId, from: from - 1 });
  return withUnpersisted(authority, persisted, (turn) => turn.runId === runId && turn.position >= from);
}

/** Where the universe stood when a session's player dropped, for a session that ends there. */
export interface DropMark {
  /** The universe's head then. */
  position: number;
  /** When (ISO time). */
  at: string;
  /** Its state then (structurally shared), for the session's summary. */
  state: UniverseState;
}

/**
 * Ends a play session with a `session_end` turn carrying its summary. `interrupted`: the session
 * was left open by a process that stopped, and is closed by the next one to open the universe;
 * `stoppedAt` is when its play stopped. `dropped`: the run's last client dropped there and none
 * came back within the reconnection window: the session ended at that mark, and is summed up as
 * the universe stood then.
 */
export async function endPlaySession(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  session: OpenSession,
  ending: { reason?: SessionEndReason; stoppedAt?: string; dropped?: DropMark } = {},
): Promise<Turn | Rejection> {
  const { reason = "left", stoppedAt, dropped } = ending;
  // a session ends even while the database does not answer: summed up from the turns in memory
  // (the newest; a session longer than that window is summed up from its end)
  const sessionTurns = await turnsSince(turnStore, authority, session.runId, session.startPosition).catch(
    (error: unknown) => {
      log.warn(
        `universe ${authority.universe.id}: session ${session.id} summed up from memory: ${describeError(error)}`,
      );
      return authority.recentTurns.filter(
        (turn) => turn.runId === session.runId && turn.position >= session.startPosition,
      );
    },
  );
  const summary = summarizeSession({
    state: dropped?.state ?? authority.state,
    before: session.before,
    characterId: session.characterId,
    sessionTurns,
  });
  const ended = await authority.submit({
    actor:
      reason === "left" ? { kind: "player", playerId: session.playerId } : { kind: "system", playerId: null },
    command: {
      kind: "session_end",
      characterId: session.characterId,
      summary: summary.text,
      ...(reason === "left" ? {} : { reason }),
      ...(reason === "interrupted" && stoppedAt ? { endedAt: stoppedAt } : {}),
      ...(reason === "left" && dropped ? { endedAt: dropped.at, through: dropped.position } : {}),
    },
    runId: session.runId,
    characterId: session.characterId,
  });
  return ended.ok ? ended.turn : ended.rejection;
}

/**
 * Closes the sessions a universe's previous owner left open (it stopped without ending them):
 * the persisted ones, and those its live tail started and did not end. Called when the universe
 * is opened, before anyone joins, so every open session belongs to a connection that is gone.
 */
export async function closeInterruptedSessions(
  turnStore: TurnStore,
  authority: UniverseAuthority,
): Promise<number> {
  const open = new Map<string, { runId: string; startPosition: number; characterId: string | null }>();
  for (const session of await turnStore.openSessions(authority.universe.id)) {
    open.set(session.runId, {
      runId: session.runId,
      startPosition: session.startPosition,
      characterId: null,
    });
  }
  const persisted = authority.persistedThrough;
  for (const turn of authority.recentTurns) {
    if (turn.position <= persisted || !turn.runId) continue;
    if (turn.kind === "session_start")
      open.set(turn.runId, {
        runId: turn.runId,
        startPosition: turn.position,
        characterId: turn.characterId,
      });
    if (turn.kind === "session_end") open.delete(turn.runId);
  }
  // The sessions ended when the play stopped, not now (the universe may be opened hours later, by
  // the player's own return, which would then refresh no fate points): as late as the log can
  // tell, the universe's last turn, made while every one of them was still open.
  const stoppedAt = authority.recentTurns.findLast(
    (turn) => !(turn.kind === "session_end" && turn.input.reason === "interrupted"),
  )?.createdAt;
  // each one's reads (its run, the state it began in, its turns) in parallel: a universe opened
  // after its process died keeps its players waiting until every session is closed
  const ended = await Promise.all(
    [...open.values()].map(async (session) => {
      const run = await turnStore.getRun(session.runId);
      const characterId = session.characterId ?? run?.characterId;
      if (!run || !characterId || !authority.state.characters[characterId]) return false;
      const before =
        session.startPosition - 1 <= persisted
          ? (await turnStore.stateAt(authority.universe.id, session.startPosition - 1)).state
          : authority.state;
      const interrupted = {
        id: "",
        runId: run.id,
        characterId,
        playerId: run.playerId,
        startPosition: session.startPosition,
        before,
      };
      let result = await endPlaySession(turnStore, authority, interrupted, {
        reason: "interrupted",
        stoppedAt,
      });
      // a lease that lapsed while the universe was being opened (a slow open on a busy machine) is
      // taken again in the background: the end is refused, not written, and may be tried again
      for (
        let attempt = 1;
        attempt <= 3 && "rejected" in result && result.code === RejectionCode.Unavailable;
        attempt++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        result = await endPlaySession(turnStore, authority, interrupted, {
          reason: "interrupted",
          stoppedAt,
        });
      }
      if (!("rejected" in result)) return true;
      log.warn(`session of run ${run.id} could not be closed: ${result.message}`);
      return false;
    }),
  );
  const closed = ended.filter(Boolean).length;
  return closed;
}

/**
 * Ends a run with a `run_end` turn. The run's record follows once the turn is persisted (the
 * completion of a played run credits its player's progression exactly once; an abandonment, or
 * a completion without play, never does), which happens before this returns unless the database
 * is down: the record returned then shows the state the turn gave it.
 */
/**
 * Brings a run's character into the universe's state, as its first join does (an `add_character`
 * turn by the system), if it is not there yet: the turns of a run (sessions, its pauses, its end)
 * tell of a character the story knows. A run ended or paused before its character ever sat at
 * the table enters it first. Null once the character is in the state.
 */
export async function enterStory(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: Pick<RunRecord, "id" | "characterId">,
  playerId: string,
): Promise<Rejection | null> {
  if (authority.state.characters[run.characterId]) return null;
  const record = await turnStore.getCharacter(run.characterId);
  if (!record) return reject(RejectionCode.UnknownCharacter, `character ${run.characterId} does not exist`);
  const sheet = storedCharacterSheetSchema.parse(record.sheet);
  const added = await authority.submit({
    actor: { kind: "system", playerId },
    command: { kind: "add_character", character: buildCharacter(record.id, record.playerId, sheet) },
    runId: run.id,
    characterId: record.id,
  });
  if (added.ok) return null;
  // the same character entering twice at once: the other's add may still be on its way
  await authority.settled();
  return authority.state.characters[run.characterId] ? null : added.rejection;
}

export async function endRun(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  outcome: "completed" | "abandoned",
  reason: string | null,
  actor: PersonActor,
): Promise<{ run: RunRecord; turn: Turn } | Rejection> {
  const moved = transitionRun({ ...run, state: authority.runState(run) }, outcome, reason ?? undefined);
  if (isRejection(moved)) return moved;
  const entered = await enterStory(turnStore, authority, run, run.playerId);
  if (entered) return entered;
  const ended = await authority.submit({
    actor,
    command: { kind: "run_end", characterId: run.characterId, runId: run.id, outcome, reason },
    runId: run.id,
    characterId: run.characterId,
  });
  if (!ended.ok) return ended.rejection;
  return { run: await recordAfter(turnStore, authority, run, ended.turn.position), turn: ended.turn };
}

/** Pauses or resumes a run with a `run_pause` turn. */
export async function pauseRun(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  paused: boolean,
  actor: PersonActor,
): Promise<{ run: RunRecord; turn: Turn } | Rejection> {
  const moved = transitionRun({ ...run, state: authority.runState(run) }, paused ? "paused" : "active");
  if (isRejection(moved)) return moved;
  const entered = await enterStory(turnStore, authority, run, run.playerId);
  if (entered) return entered;
  const changed = await authority.submit({
    actor,
    command: { kind: "run_pause", characterId: run.characterId, runId: run.id, paused },
    runId: run.id,
    characterId: run.characterId,
  });
  if (!changed.ok) return changed.rejection;
  return { run: await recordAfter(turnStore, authority, run, changed.turn.position), turn: changed.turn };
}

/** The run's record once the turns so far are persisted; its projected state if they cannot be yet. */
async function recordAfter(
  turnStore: TurnStore,
  authority: UniverseAuthority,
  run: RunRecord,
  position: number,
): Promise<RunRecord> {
  await authority.persistedTo(position);
  const record = (await turnStore.getRun(run.id).catch(() => null)) ?? run;
  return { ...record, state: authority.runState(record) };
}
