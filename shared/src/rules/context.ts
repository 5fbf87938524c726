import type { Random } from "../dice.ts";
import type { Delta } from "../delta.ts";
import type { ActorKind, Resolution, Turn, TurnEvent, TurnKind } from "../turn.ts";

/** Who is acting: a player (with their id), a game master, or the server itself. */
export interface Actor {
  kind: ActorKind;
  playerId: string | null;
}

/** Everything a rule may know besides the state and the command: nothing here is read from the world. */
export interface DecideContext {
  /** The position the turn will take on the timeline; canon facts and aspects are keyed by it. */
  position: number;
  /** ISO timestamp of the turn, from the caller's clock. */
  now: string;
  /** The turn's dice, seeded from the universe seed and the position. */
  random: Random;
  actor: Actor;
  /**
   * Only for undo: the timeline's turns from (at least) the undo's target to the head, oldest
   * first, with their current statuses. Other commands never look at it.
   */
  timeline?: readonly Turn[];
}

/** What a command does: the turn's kind, its events in words, its exact deltas and its roll. */
export interface Decision {
  kind: TurnKind;
  events: TurnEvent[];
  deltas: Delta[];
  resolution: Resolution | null;
  /** For an undo: the position of the turn it undoes, to be marked `undone`. */
  undoes?: number;
}
