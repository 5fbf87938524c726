import type { Command } from "./command.ts";
import type { RunState } from "./continuity/run-lifecycle.ts";
import { reject, RejectionCode, type Rejection } from "./rejection.ts";
import type { Actor } from "./rules/context.ts";
import type { SystemCommand } from "./system-command.ts";

/**
 * Who acts, and when a run may act: one rule for the room and the HTTP API alike. The rules in
 * `decide` then say what each actor may do to the state (a player only with their own characters).
 */

export type { Actor };

/** A person acting (not the server): a player or a game master, with their id. */
export interface PersonActor extends Actor {
  kind: "player" | "gm";
  playerId: string;
}

/** A member of a universe's room acts as its role: a game master, or a player. */
export function memberActor(member: { role: "gm" | "player" | "spectator"; playerId: string }): PersonActor {
  return { kind: member.role === "gm" ? "gm" : "player", playerId: member.playerId };
}

/** On a run: its own player acts as a player; anyone else who may (a game master) as a game master. */
export function runActor(run: { playerId: string }, callerId: string): PersonActor {
  return { kind: run.playerId === callerId ? "player" : "gm", playerId: callerId };
}

/** Commands that keep a run's books (sessions, its ending, pausing, undo): allowed whatever its state. */
function isRunBookkeeping(command: Command | SystemCommand): boolean {
  return (
    command.kind === "session_end" ||
    command.kind === "run_end" ||
    command.kind === "run_pause" ||
    command.kind === "undo"
  );
}

/**
 * Why a command in a run may not be decided, if it may not: a player plays only while their run
 * is active. `state` is the run's state as of the latest acknowledged turn.
 */
export function runActivityRefusal(
  actor: Actor,
  state: RunState,
  command: Command | SystemCommand,
): Rejection | null {
  if (actor.kind !== "player" || state === "active" || isRunBookkeeping(command)) return null;
  return reject(RejectionCode.RunNotActive, "this run is paused or over; resume it to play");
}

/**
 * A player's action that names its own difficulty, whatever it targets: in Fate Core the game
 * master sets difficulties, and a player naming one chooses the outcome (a -4 succeeds with style
 * at will, and takes anyone out in a turn or two). Without one, a character or NPC opposes with its
 * own skill and anything else is Fair (+2) (rules/action.ts). Checked as a command is submitted,
 * not by the rules: a command recorded before the check still decides, and replays, as it did.
 */
export function opposedDifficultyRefusal(actor: Actor, command: Command | SystemCommand): Rejection | null {
  if (actor.kind !== "player" || command.kind !== "action" || command.opposition === undefined) return null;
  return reject(
    RejectionCode.NotAllowed,
    "only a game master sets a difficulty: leave out opposition (a character or NPC opposes with its own skill, anything else is Fair +2)",
  );
}
