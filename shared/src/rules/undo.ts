import { untoldDeltas } from "../continuity/session-summary.ts";
import { invertDeltas, type Delta } from "../delta.ts";
import { reject, type Rejection } from "../rejection.ts";
import type { UndoCommand } from "../system-command.ts";
import type { UniverseState } from "../state.ts";
import type { Turn } from "../turn.ts";
import { isHiddenTurn } from "../visibility.ts";
import type { Actor, DecideContext, Decision } from "./context.ts";
import { own } from "./lookup.ts";

/**
 * The path a delta touches for conflict purposes. Array inserts and removals shift their
 * neighbours, so they touch the whole array.
 */
export function touchedPath(delta: Delta): string {
  return delta.op === "push" || delta.op === "remove"
    ? delta.path.slice(0, delta.path.lastIndexOf("/"))
    : delta.path;
}

/** Proper prefixes of a JSON Pointer: "/a/b/c" → "/a", "/a/b". */
function prefixesOf(path: string): string[] {
  const prefixes: string[] = [];
  for (let i = path.indexOf("/", 1); i > 0; i = path.indexOf("/", i + 1)) prefixes.push(path.slice(0, i));
  return prefixes;
}

/** Whether any delta of `later` touches a path equal to, inside, or containing one of `paths`. */
export function overlaps(paths: readonly string[], later: readonly Delta[]): boolean {
  const exact = new Set<string>();
  const containers = new Set<string>();
  for (const path of paths) {
    exact.add(path);
    for (const prefix of prefixesOf(path)) containers.add(prefix);
  }
  for (const delta of later) {
    const path = touchedPath(delta);
    if (exact.has(path) || containers.has(path)) return true;
    for (const prefix of prefixesOf(path)) if (exact.has(prefix)) return true;
  }
  return false;
}

function undoTarget(turn: Turn): number | null {
  const position = turn.input.targetPosition;
  return turn.kind === "undo" && typeof position === "number" ? position : null;
}

/**
 * Undo rules (DESIGN §4): an undo appends a turn whose deltas invert the target's. Nothing to undo
 * if the target is already undone or is itself an undo; session turns are not undone. A player
 * may undo only their own turns (as submitted, none that rolled, and nobody a turn that stands for
 * good: undoRefusal). Nobody may undo a turn when a later turn still in effect touched an
 * overlapping path (prefix overlap either way) — the inverse would no longer be exact; a later
 * turn that was itself undone, together with its undo, nets to nothing and does not count. So a
 * game master can always undo the latest applied turn, and older ones when nothing since touched
 * them.
 *
 * `laterTurns` are the turns after the target, with their statuses as they stand now.
 */
export function undoDecision(
  state: UniverseState,
  target: Turn,
  laterTurns: readonly Turn[],
  actor: Actor,
): Decision | Rejection {
  if (target.status === "undone")
    return reject("nothing_to_undo", `turn ${target.position} is already undone`);
  if (target.kind === "undo")
    return reject("nothing_to_undo", `turn ${target.position} is an undo; play on instead`);
  if (target.kind === "session_start" || target.kind === "session_end") {
    return reject("not_allowed", `turn ${target.position} opens or closes a session and cannot be undone`);
  }
  if (actor.kind === "player" && (target.actor !== "player" || target.playerId !== actor.playerId)) {
    return reject("not_allowed", `turn ${target.position} is not yours to undo`);
  }
  const paths = target.deltas.map(touchedPath);
  for (const later of laterTurns) {
    if (later.status !== "applied" || later.position <= target.position) continue;
    const undid = undoTarget(later);
    if (undid !== null && undid > target.position) continue;
    if (overlaps(paths, later.deltas)) {
      // a hidden roll shows only that it happened: what it changed is not told to a player
      if (actor.kind !== "gm" && isHiddenTurn(later))
        return reject("undo_conflict", `a later turn changed what turn ${target.position} changed`);
      return reject("undo_conflict", `turn ${later.position} changed what turn ${target.position} changed`, {
        conflictingPosition: later.position,
      });
    }
  }
  const character = target.characterId === null ? undefined : own(state.characters, target.characterId);
  const what = target.events[0]?.description ?? `a ${target.kind} turn`;
  const who =
    actor.kind === "player"
      ? (character?.name ?? "A player")
      : actor.kind === "gm"
        ? "The game master"
        : "The server";
  return {
    kind: "undo",
    events: [
      {
        type: "undo",
        description: `${who} undoes turn ${target.position} (${what})`,
        major: target.events.some((event) => event.major),
        // undoing a hidden roll says what the roll was, and its deltas are the roll's: hidden too
        hidden: isHiddenTurn(target),
        data: { targetPosition: target.position },
      },
    ],
    // the summaries of a session it was played in stop telling it (the narrator reads them)
    deltas: [...invertDeltas(target.deltas), ...untoldDeltas(state, target)],
    resolution: null,
    undoes: target.position,
  };
}

/** The undo command through `decide`: the target and later turns come from `ctx.timeline`. */
export function decideUndo(
  state: UniverseState,
  command: UndoCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const timeline = ctx.timeline ?? [];
  const index = timeline.findIndex((turn) => turn.position === command.targetPosition);
  if (index < 0)
    return reject("nothing_to_undo", `turn ${command.targetPosition} is not on the timeline given`);
  return undoDecision(state, timeline[index]!, timeline.slice(index + 1), ctx.actor);
}

/** Whether the turn rolled the dice: a roll is recorded as the turn's resolution. */
export function rolledDice(turn: Turn): boolean {
  return turn.resolution !== null;
}

/**
 * Why an undo of `target` is refused as it is submitted, after the rules allowed it
 * (undoDecision), or null. Not by the rules: an undo recorded before a check still decides, and
 * replays, as it did.
 *
 * - Some turns are never undone (`standsForGood`), whoever asks.
 * - A player's undo of their run's completion: a game master may undo it.
 * - A player's undo of a turn that rolled the dice. A roll stands: a player who could undo their
 *   roll once they had read it could roll again until the dice pleased them, and have the fate
 *   points spent on its invokes back each time. A game master may undo any turn, rolled or not.
 */
export function undoRefusal(actor: Actor, target: Turn): Rejection | null {
  const stands = standsForGood(target);
  if (stands !== null) return reject("not_allowed", `turn ${target.position} ${stands}`);
  if (actor.kind !== "player") return null;
  // a completion is the player's last word on a run, and its credit stands (an abandoned run they
  // may take up again, by resuming it or undoing its end)
  if (target.kind === "system" && target.input.kind === "run_end" && target.input.outcome === "completed")
    return reject(
      "not_allowed",
      `turn ${target.position} completes a run, which its player cannot take back; ask your game master to undo it`,
    );
  if (!rolledDice(target)) return null;
  return reject(
    "not_allowed",
    `turn ${target.position} rolled the dice: a roll stands; ask your game master to undo it`,
  );
}

/**
 * Why a turn the server made about a player's place in the story is never undone, or null: its
 * undo would leave the story or the records saying otherwise than the turns that stand.
 */
function standsForGood(turn: Turn): string | null {
  if (turn.kind !== "system") return null;
  // a character stays in the universe once it has entered (rules/gm-deltas.ts): undone, her
  // player, seated, could no longer act, and her next join would bring her in again as new
  if (turn.input.kind === "add_character")
    return "brings a character into the story and cannot be undone; her player may abandon the run";
  // the run's record stays as the pause or resume left it (continuity/projection.ts)
  if (turn.input.kind === "run_pause")
    return turn.input.paused === true
      ? "pauses a run and cannot be undone: resume the run instead"
      : "resumes a run and cannot be undone: pause the run instead";
  return null;
}

function undoable(turn: Turn): boolean {
  return (
    turn.status === "applied" &&
    turn.kind !== "undo" &&
    turn.kind !== "session_start" &&
    turn.kind !== "session_end" &&
    standsForGood(turn) === null
  );
}

/**
 * The turn an undo without a position means: for a game master, the latest applied turn; for a
 * player, the last thing they did (playersLatestTurn) if it may be undone. Null when there is none
 * in `turns` (oldest first).
 */
export function defaultUndoTarget(turns: readonly Turn[], actor: Actor): number | null {
  if (actor.kind === "player") {
    const latest = playersLatestTurn(turns, actor.playerId);
    return latest && latest.actor === "player" && undoable(latest) ? latest.position : null;
  }
  for (let i = turns.length - 1; i >= 0; i--) if (undoable(turns[i]!)) return turns[i]!.position;
  return null;
}

/**
 * The newest turn of `turns` (oldest first) that names the player, whoever made it: the last thing
 * they did, or that the server did for them (their return to the table). A player's undo takes back
 * that turn and no other: once it is an undo, or their session's opening, there is nothing of
 * theirs to take back until they act again, so "undo" never reaches back through their story.
 */
export function playersLatestTurn(turns: readonly Turn[], playerId: string | null): Turn | null {
  if (playerId === null) return null;
  for (let i = turns.length - 1; i >= 0; i--) if (turns[i]!.playerId === playerId) return turns[i]!;
  return null;
}
