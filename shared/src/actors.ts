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
 * A player's action that names the difficulty against an NPC or another character: the target
 * rolls its own defence, and a player naming it would choose the outcome (a -4 takes anyone out in
 * a turn or two); only a game master sets a passive opposition against one. Checked as a command
 * is submitted, not by the rules: a command recorded before the check still decides, and
 * replays, as it did.
 */
export function opposedDifficultyRefusal(actor: Actor, command: Command | SystemCommand): Rejection | null {
  if (actor.kind !== "player" || command.kind !== "action" || command.opposition === undefined) return null;
  if (command.target?.type !== "character" && command.target?.type !== "npc") return null;
  return reject(
    RejectionCode.NotAllowed,
    "a character or NPC opposes with its own skill: only a game master sets a difficulty against one",
  );
}
