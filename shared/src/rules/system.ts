import { nameWithConcept } from "../character.ts";
import { pointer } from "../delta.ts";
import { isRejection, reject, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import type {
  AddCharacterCommand,
  RetconCommand,
  RunEndCommand,
  RunPauseCommand,
  SessionEndCommand,
  SessionStartCommand,
} from "../system-command.ts";
import { summaryDeltas } from "../continuity/session-summary.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { recordGmDeltas } from "./gm-deltas.ts";
import { own, requireGm } from "./lookup.ts";

/** A character joins the universe (a run begins): the server's doing, or a game master's. */
export function decideAddCharacter(
  state: UniverseState,
  command: AddCharacterCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "add characters directly");
  if (denied) return denied;
  const { character } = command;
  if (own(state.characters, character.id))
    return reject("invalid_action", `character "${character.id}" already exists`);
  const draft = new Draft(state, ctx);
  draft.set(pointer("characters", character.id), character, undefined);
  draft.fact("character", {
    characterId: character.id,
    name: character.name,
    highConcept: character.highConcept,
  });
  const introduced = nameWithConcept(character.name, character.highConcept);
  // "Mara, disgraced cartographer, enters the story"; "Mara the Bold enters the story"
  const entrance = `${introduced}${introduced.includes(",") ? "," : ""} enters the story`;
  draft.event("character_joined", entrance, {
    major: true,
    data: { characterId: character.id, playerId: character.playerId },
  });
  return draft.decision("system");
}

/** A retcon: a game master's note and the deltas that correct canon, shown in replay and recaps. */
export function decideRetcon(
  state: UniverseState,
  command: RetconCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "retcon");
  if (denied) return denied;
  const recorded = recordGmDeltas(state, command.deltas);
  if (isRejection(recorded)) return recorded;
  const draft = new Draft(recorded.state, ctx);
  draft.lead(recorded.deltas);
  const notes = recorded.state.canon.retconNotes;
  draft.deltas.push({
    op: "push",
    path: `/canon/retconNotes/${notes.length}`,
    value: { position: ctx.position, note: command.note },
  });
  draft.fact("retcon", { note: command.note });
  draft.event("retcon", `Retcon: ${command.note}`, { major: true, data: { deltas: recorded.deltas.length } });
  return draft.decision("retcon");
}

function sessionCharacter(state: UniverseState, characterId: string, ctx: DecideContext) {
  const character = own(state.characters, characterId);
  if (!character) return reject("unknown_character", `no character "${characterId}" in this universe`);
  if (ctx.actor.kind === "player" && character.playerId !== ctx.actor.playerId) {
    return reject("not_your_character", `${character.name} belongs to another player`);
  }
  return character;
}

/**
 * A play session starts: fate points below refresh are topped up to it (Fate Core p. 80), once
 * per real play session (`command.refresh`).
 */
export function decideSessionStart(
  state: UniverseState,
  command: SessionStartCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = sessionCharacter(state, command.characterId, ctx);
  if (isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  draft.event("session_started", `${character.name} joins the table`, {
    data: {
      characterId: character.id,
      ...(command.lastTime === undefined ? {} : { lastTime: command.lastTime }),
      ...(command.meanwhile === undefined ? {} : { meanwhile: command.meanwhile }),
      ...(command.first ? { first: true } : {}),
    },
  });
  if (command.refresh !== false && character.fatePoints < character.refresh) {
    draft.set(pointer("characters", character.id, "fatePoints"), character.refresh, character.fatePoints);
  }
  return draft.decision("session_start");
}

/**
 * A play session ends; its summary travels with the event for the recap and becomes canon:
 * the recent summary is replaced and the long summary extended, as deltas, so undo, branch and
 * jump treat summaries like any other state.
 */
export function decideSessionEnd(
  state: UniverseState,
  command: SessionEndCommand,
  ctx: DecideContext,
): Decision | Rejection {
  // a character whose arrival a game master undid while its player sat at the table is no longer
  // in the state; the session it was played in still ends (the server makes this turn, no client)
  const gone = own(state.characters, command.characterId) === undefined;
  const character = gone ? null : sessionCharacter(state, command.characterId, ctx);
  if (character && isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  const interrupted = command.reason === "interrupted";
  const description = character
    ? `${character.name}${interrupted ? "'s session was cut short when the server stopped" : " leaves the table"}`
    : interrupted
      ? "The session of a character no longer in the story was cut short when the server stopped"
      : "The player of a character no longer in the story leaves the table";
  draft.event("session_ended", description, {
    data: { characterId: command.characterId, summary: command.summary, reason: command.reason ?? "left" },
  });
  draft.adopt(summaryDeltas(state, { text: command.summary }, ctx.position));
  return draft.decision("session_end");
}

/** A run ends: completed (retired, died, victory…) or abandoned. A major event for everyone. */
export function decideRunEnd(
  state: UniverseState,
  command: RunEndCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = sessionCharacter(state, command.characterId, ctx);
  if (isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  const how =
    command.outcome === "completed"
      ? `completes their story${command.reason ? ` (${command.reason})` : ""}`
      : "leaves their story unfinished";
  draft.event("run_ended", `${character.name} ${how}`, {
    major: command.outcome === "completed",
    data: {
      characterId: character.id,
      runId: command.runId,
      outcome: command.outcome,
      reason: command.reason,
    },
  });
  return draft.decision("system");
}

/** A run is paused or resumed: who may act changes, the story does not. */
export function decideRunPause(
  state: UniverseState,
  command: RunPauseCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = sessionCharacter(state, command.characterId, ctx);
  if (isRejection(character)) return character;
  const draft = new Draft(state, ctx);
  draft.event(
    command.paused ? "run_paused" : "run_resumed",
    `${character.name} ${command.paused ? "steps away from the story" : "returns to the story"}`,
    { data: { characterId: character.id, runId: command.runId } },
  );
  return draft.decision("system");
}
