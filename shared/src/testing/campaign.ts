import type { Command } from "../command.ts";
import { decide } from "../decide.ts";
import { createRandom, seededDice, turnSeed, type Random } from "../dice.ts";
import { evolve } from "../evolve.ts";
import { isRejection } from "../rejection.ts";
import type { Actor } from "../rules/context.ts";
import type { UniverseState } from "../state.ts";
import type { SystemCommand } from "../system-command.ts";
import type { Turn } from "../turn.ts";
import { recordTurn } from "./timeline.ts";
import { seedUniverse } from "./universe.ts";
import { gmCommand, playerCommand, type Proposal } from "./proposals.ts";

export interface SimulateOptions {
  seed: number;
  turns: number;
  /** How many player characters (default 3, up to 8). */
  characters?: number;
  universeId?: string;
  /** ISO time of the first turn; each next turn comes `stepMs` later (default 45 s). */
  start?: string;
  stepMs?: number;
  /** Each position's dice (default: `seededDice(seed)`). The choice of commands stays seeded. */
  dice?: (position: number) => Random;
}

export interface SimulatedCampaign {
  genesis: UniverseState;
  turns: Turn[];
  final: UniverseState;
}

/** The game master's actor in simulated campaigns. */
export const SIMULATED_GM: Actor = { kind: "gm", playerId: "gm-1" };

/** How many recent turns an undo may look back on. */
const UNDO_WINDOW = 40;

/**
 * A seeded, realistic campaign: player actions, choices and free text, GM world events, scenes,
 * compels, retcons, the odd undo and session change, each decided by the real rules with the turn's
 * dice (`options.dice`, by default `turnSeed(seed, position)`) and evolved. Commands the rules reject are dropped and another
 * is drawn, so every returned turn is one the server could have recorded.
 */
export function simulateCampaign(options: SimulateOptions): SimulatedCampaign {
  const turns: Turn[] = [];
  const played = playCampaign(options);
  let state = played.genesis;
  for (const step of played.steps) {
    turns.push(step.turn);
    state = step.state;
  }
  return { genesis: played.genesis, turns, final: state };
}

/** One turn of a campaign played by `playCampaign`, with the state after it. */
export interface PlayedStep {
  turn: Turn;
  state: UniverseState;
  /** The position this turn undid: that turn, already yielded, is marked `undone` now. */
  undoes?: number;
}

/**
 * The campaign of `simulateCampaign`, one turn at a time, holding only the last turns an undo may
 * look back on: long campaigns (a 100,000-turn universe) are played without keeping every turn.
 */
export function playCampaign(options: SimulateOptions): {
  genesis: UniverseState;
  steps: Generator<PlayedStep>;
} {
  const genesis = seedUniverse({ characters: options.characters ?? 3 });
  return { genesis, steps: steps(options, genesis) };
}

function* steps(options: SimulateOptions, genesis: UniverseState): Generator<PlayedStep> {
  const universeId = options.universeId ?? "universe-sim";
  const startMs = Date.parse(options.start ?? "2026-01-01T18:00:00.000Z");
  const stepMs = options.stepMs ?? 45_000;
  const chooser: Random = createRandom(turnSeed(options.seed, 0) ^ 0x2545f491);
  const dice = options.dice ?? seededDice(options.seed);
  const window: Turn[] = [];
  const queued: Proposal[] = [];
  let state = genesis;
  for (let position = 1; position <= options.turns; position++) {
    const now = new Date(startMs + (position - 1) * stepMs).toISOString();
    for (let attempt = 0; ; attempt++) {
      const proposal: Proposal =
        queued.shift() ??
        (attempt < 8
          ? chooser.int(1, 100) <= 82
            ? playerCommand(state, chooser, window)
            : gmCommand(state, chooser, position)
          : fallback());
      const decision = decide(state, proposal.command, {
        position,
        now,
        random: dice(position),
        actor: proposal.actor,
        timeline: window,
      });
      if (isRejection(decision)) continue;
      const turn = recordTurn(decision, {
        universeId,
        position,
        actor: proposal.actor,
        command: proposal.command,
        createdAt: now,
      });
      if (decision.undoes !== undefined) {
        const target = window.find((earlier) => earlier.position === decision.undoes);
        if (target) target.status = "undone";
      }
      window.push(turn);
      if (window.length > UNDO_WINDOW) window.shift();
      if (proposal.then) queued.push(proposal.then);
      state = evolve(state, decision.deltas);
      yield decision.undoes === undefined ? { turn, state } : { turn, state, undoes: decision.undoes };
      break;
    }
  }
}

/** Always accepted: a GM's minor world event. */
function fallback(): Proposal {
  const command: Command = {
    kind: "world_event",
    text: "Time passes on the coast",
    major: false,
    deltas: [],
  };
  return { actor: SIMULATED_GM, command };
}

export type { Proposal };
export type SimulatedCommand = Command | SystemCommand;
