import type { Random } from "../dice.ts";
import type { UniverseState } from "../state.ts";
import type { Resolution, Turn, TurnEvent } from "../turn.ts";
import { readLocation, readNpc } from "../world-records.ts";
import {
  ATTEMPT_BARE,
  ATTEMPT_DESCRIBED,
  CHOICE,
  CONFLICT_CLOSING,
  CONFLICT_OPENING,
  CUSTOM,
  HIDDEN_PREFIX,
  JOINED,
  RESULT,
  SCENE_CLOSING,
  SCENE_OPENING,
  SESSION_ENDED,
  SESSION_STARTED,
  SESSION_FIRST,
  STRESS,
  CONSEQUENCE,
  UNDO,
  WORLD_EVENT,
  ASPECT_CREATED,
  BOOST,
  FREE_INVOKES,
  INVOKE,
  type Phrases,
} from "./phrases.ts";

/**
 * The template narrator: a turn's prose from its events, resolution, the scene and the
 * characters, with no model. Pure and deterministic: the same turn, state and random source give
 * the same text, so a recorded template narration can always be told again word for word.
 */
export function narrateTemplate(turn: Turn, state: UniverseState, random: Random): string {
  const teller = new Teller(turn, state, random);
  const sentences: string[] = [];
  // a fight is declared before the blow that starts it, though the rules log it after the roll
  const events = [...turn.events].sort((a, b) => rank(a) - rank(b));
  for (const event of events) {
    const told = teller.event(event);
    if (told) sentences.push(told);
  }
  if (sentences.length === 0) sentences.push(teller.fallback());
  return sentences.join(" ");
}

function rank(event: TurnEvent): number {
  return event.type === "conflict_started" ? 0 : 1;
}

type Slots = Record<string, string>;

class Teller {
  private readonly who: string;

  constructor(
    private readonly turn: Turn,
    private readonly state: UniverseState,
    private readonly random: Random,
  ) {
    this.who =
      this.characterName(turn.characterId) ??
      { gm: "The game master", player: "A player", system: "The story" }[turn.actor];
  }

  event(event: TurnEvent): string | null {
    switch (event.type) {
      case "roll":
        return this.roll(event);
      case "scene_started":
        return this.pick(SCENE_OPENING, {
          title: this.state.scene.title,
          where: this.where(event.data.location),
        });
      case "scene_ended":
        return this.pick(SCENE_CLOSING);
      case "conflict_started":
        return this.pick(CONFLICT_OPENING);
      case "conflict_ended":
        return this.pick(CONFLICT_CLOSING);
      case "world_event":
        return this.pick(WORLD_EVENT, {
          text: sentence(this.str(this.turn.input.text) ?? event.description),
        });
      case "choice":
        return this.pick(CHOICE, { text: sentence(this.str(this.turn.input.text) ?? event.description) });
      case "custom":
        return this.pick(CUSTOM, { text: sentence(this.str(this.turn.input.text) ?? event.description) });
      case "character_joined": {
        const character = this.state.characters[this.str(event.data.characterId) ?? ""];
        if (!character) return sentence(event.description);
        return this.pick(JOINED, { who: character.name, concept: character.highConcept });
      }
      case "stress":
        return this.stress(event);
      case "aspect_created":
      case "boost":
      case "free_invokes": {
        const aspect = this.state.scene.aspects[this.str(event.data.aspectId) ?? ""];
        if (!aspect) return sentence(event.description);
        const phrases = { aspect_created: ASPECT_CREATED, boost: BOOST, free_invokes: FREE_INVOKES }[
          event.type
        ];
        return this.pick(phrases, { aspect: `"${aspect.name}"` });
      }
      case "invoke": {
        const names = Array.isArray(event.data.aspects) ? (event.data.aspects as unknown[]).map(String) : [];
        if (names.length === 0) return sentence(event.description);
        return this.pick(INVOKE, { aspects: names.map((name) => `"${name}"`).join(" and ") });
      }
      case "session_started": {
        // a session's prose: where the player's run stood as they come back
        const recently = this.str(event.data.lastTime)?.trim() ?? "";
        if (event.data.first === true) return this.pick(SESSION_FIRST);
        const back = this.pick(SESSION_STARTED);
        return recently ? `${back} Last time: ${sentence(recently)}` : back;
      }
      case "session_ended": {
        const summary = this.str(event.data.summary)?.trim();
        const away = this.pick(SESSION_ENDED);
        return summary ? `${away} ${sentence(summary)}` : away;
      }
      case "undo":
        return this.pick(UNDO, {
          n: typeof event.data.targetPosition === "number" ? String(event.data.targetPosition) : "?",
        });
      case "retcon":
        return `The record is set straight. ${sentence(this.str(this.turn.input.note) ?? event.description)}`;
      default:
        // Every other event's description is already a sentence about the story (stress taken,
        // an aspect created, a quest resolved); it only needs to be punctuated as one.
        return sentence(event.description);
    }
  }

  /** A turn without events (none in the rules today): say who acted. */
  fallback(): string {
    return `${this.who} acts.`;
  }

  private roll(event: TurnEvent): string {
    const resolution = this.turn.resolution;
    if (!resolution) return sentence(event.description);
    const deed = this.str(this.turn.input.description)?.trim() ?? "";
    const slots: Slots = {
      skill: resolution.skill,
      target: this.targetName(resolution),
      deed: stripStop(deed),
    };
    const attempt = this.pick(
      deed ? ATTEMPT_DESCRIBED[resolution.action] : ATTEMPT_BARE[resolution.action],
      slots,
    );
    const result = this.pick(RESULT[resolution.action][resolution.outcome], slots);
    const told = `${attempt} ${result}`;
    if (!resolution.hidden) return told;
    // "In secret, Mara…" keeps the name's capital; "In secret, drawing on…" loses the phrase's
    return this.pick(HIDDEN_PREFIX) + (told.startsWith(this.who) ? told : lowerFirst(told));
  }

  /** Stress that takes the target out is told by the `taken_out` event that follows it. */
  private stress(event: TurnEvent): string | null {
    const characterId = this.str(event.data.characterId);
    const npcId = this.str(event.data.npcId);
    const name = characterId
      ? this.characterName(characterId)
      : npcId
        ? (readNpc(this.state, npcId)?.name ?? null)
        : null;
    if (!name) return sentence(event.description);
    const severities = Array.isArray(event.data.consequences) ? (event.data.consequences as string[]) : [];
    const character = characterId ? this.state.characters[characterId] : undefined;
    const wounds = severities
      .map((severity) => character?.consequences[severity as "mild" | "moderate" | "severe"]?.aspect)
      .filter((aspect): aspect is string => typeof aspect === "string")
      .map((aspect) => `"${aspect}"`);
    if (wounds.length > 0) return this.pick(CONSEQUENCE, { name, wound: wounds.join(" and ") });
    if (event.data.box === null || event.data.box === undefined) return null;
    return this.pick(STRESS, { name });
  }

  private targetName(resolution: Resolution): string {
    const target = this.turn.input.target as { type?: string; id?: string } | undefined;
    if (target?.type === "character") return this.characterName(target.id ?? null) ?? "their rival";
    if (target?.type === "npc") return readNpc(this.state, target.id ?? "")?.name ?? "their foe";
    if (target?.type === "aspect") {
      const aspect = this.state.scene.aspects[target.id ?? ""];
      return aspect ? `"${aspect.name}"` : "the situation";
    }
    if (target?.type === "scene") return "the scene";
    return {
      overcome: "the obstacle",
      create_advantage: "the situation",
      attack: "the foe",
      defend: "the threat",
    }[resolution.action];
  }

  private where(location: unknown): string {
    const id = this.str(location);
    if (!id) return "";
    return ` at ${readLocation(this.state, id)?.name ?? id}`;
  }

  private characterName(id: string | null): string | null {
    if (!id) return null;
    return this.state.characters[id]?.name ?? null;
  }

  private str(value: unknown): string | null {
    return typeof value === "string" && value.length > 0 ? value : null;
  }

  private pick(phrases: Phrases, slots: Slots = {}): string {
    const phrase = phrases[this.random.int(0, phrases.length - 1)]!;
    const all: Slots = { who: this.who, ...slots };
    const filled = phrase.replace(/\{(\w+)\}/g, (_, name: string) => all[name] ?? "");
    return upperFirst(filled);
  }
}

function stripStop(text: string): string {
  return text.replace(/[.!?…]+$/u, "");
}

/** A description as a sentence: a capital first letter and a final stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return "";
  return upperFirst(/[.!?…]["'”)]?$/u.test(trimmed) ? trimmed : `${trimmed}.`);
}

function upperFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1);
}
