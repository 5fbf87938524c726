import { nameWithConcept } from "../character.ts";
import type { Random } from "../dice.ts";
import { stressTrackFor } from "../fate/skills.ts";
import type { UniverseState } from "../state.ts";
import type { Resolution, Turn, TurnEvent } from "../turn.ts";
import { readLocation, readNpc } from "../world-records.ts";
import { readDeed } from "../deed.ts";
import * as words from "./phrases.ts";
import type { Phrases } from "./phrases.ts";
import { lowerFirst, nonEmpty, sentence, stop, tidy, upperFirst } from "../prose.ts";
import {
  tellAttitude,
  tellCompel,
  tellMilestone,
  tellQuest,
  tellRunEnded,
  type Voice,
} from "./world-prose.ts";

/**
 * The template narrator: a turn's prose from its events, resolution, the scene and the
 * characters, with no model. Pure and deterministic: the same turn, state and random source give
 * the same text, so a recorded template narration can always be told again word for word.
 */
export function narrateTemplate(turn: Turn, state: UniverseState, random: Random): string {
  const teller = new Teller(turn, state, random);
  const sentences: string[] = [];
  const events = [...turn.events].sort((a, b) => rank(a) - rank(b));
  for (const event of events) {
    const told = teller.event(event);
    if (told) sentences.push(told);
  }
  if (sentences.length === 0) sentences.push(teller.fallback());
  return sentences.join(" ");
}

/**
 * A fight is declared before the blow that starts it, though the rules log it after the roll; a
 * feeling changed by the blow follows the harm it did.
 */
function rank(event: TurnEvent): number {
  return { conflict_started: 0, attitude_changed: 2 }[event.type] ?? 1;
}

type Slots = Record<string, string>;

class Teller implements Voice {
  private readonly who: string;
  private readonly types: ReadonlySet<string>;

  constructor(
    readonly turn: Turn,
    readonly state: UniverseState,
    private readonly random: Random,
  ) {
    this.who =
      this.characterName(turn.characterId) ??
      { gm: "The game master", player: "A player", system: "The story" }[turn.actor];
    this.types = new Set(turn.events.map((event) => event.type));
  }

  event(event: TurnEvent): string | null {
    const data = event.data;
    switch (event.type) {
      case "roll":
        return this.roll(event);
      case "scene_started":
        return this.sceneStarted(event);
      case "scene_ended":
        // a new scene in the same turn says as much
        return this.types.has("scene_started") ? null : this.pick(words.SCENE_CLOSING);
      case "conflict_started":
        return this.pick(words.CONFLICT_OPENING);
      case "conflict_ended":
        return this.pick(words.CONFLICT_CLOSING);
      case "world_event":
        return sentence(nonEmpty(this.turn.input.text) ?? event.description);
      case "choice":
      case "custom":
        return this.ownWords(event);
      case "character_joined": {
        const character = this.state.characters[nonEmpty(data.characterId) ?? ""];
        if (!character) return sentence(event.description);
        return this.pick(words.JOINED, { who: nameWithConcept(character.name, character.highConcept) });
      }
      case "stress":
        return this.stress(event);
      case "taken_out":
        return this.about(event, "targetId", words.TAKEN_OUT);
      case "conceded":
        return this.about(event, "characterId", words.CONCEDED);
      case "aspect_created":
      case "boost":
      case "free_invokes": {
        const aspect = this.state.scene.aspects[nonEmpty(data.aspectId) ?? ""];
        if (!aspect) return sentence(event.description);
        const phrases = {
          aspect_created: words.ASPECT_CREATED,
          boost: words.BOOST,
          free_invokes: words.FREE_INVOKES,
        }[event.type];
        return this.pick(phrases, { aspect: `"${aspect.name}"` });
      }
      case "invoke": {
        const aspects = this.invoked(event);
        // told with the roll it helps, as the attempt's lead
        if (this.turn.resolution && this.types.has("roll")) return null;
        return aspects ? this.pick(words.INVOKE, { aspects }) : sentence(event.description);
      }
      case "attitude_changed":
        return tellAttitude(this, event);
      case "location":
        return this.location(event);
      case "quest_added":
      case "quest_updated":
      case "quest_resolved":
      case "quest_failed":
        return tellQuest(this, event);
      case "compel_accepted":
      case "compel_refused":
        return tellCompel(this, event);
      case "milestone":
        return tellMilestone(this, event);
      case "run_ended":
        return tellRunEnded(this, event);
      case "faction":
        // a standing is a number on a sheet; the story tells only which way it went
        return sentence(event.description.replace(/ to -?\d+$/u, ""));
      case "session_started": {
        // a session's prose: where the player's run stood as they come back
        const recently = nonEmpty(data.lastTime)?.trim() ?? "";
        if (data.first === true) return this.pick(words.SESSION_FIRST);
        const back = this.pick(words.SESSION_STARTED);
        return recently ? `${back} Last time: ${sentence(recently)}` : back;
      }
      case "session_ended": {
        const summary = nonEmpty(data.summary)?.trim();
        const away = this.pick(words.SESSION_ENDED);
        return summary ? `${away} ${sentence(summary)}` : away;
      }
      case "undo": {
        const n = typeof data.targetPosition === "number" ? String(data.targetPosition) : "?";
        const named = this.turn.characterId !== null || this.turn.actor === "gm";
        return this.pick(named ? words.UNDO : words.UNDO_UNNAMED, { n });
      }
      case "retcon":
        return `The record is set straight. ${sentence(nonEmpty(this.turn.input.note) ?? event.description)}`;
      default:
        // Every other event's description is already a sentence about the story (an aspect
        // removed, an NPC entering it, a run paused); it only needs to be punctuated as one.
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
    const target = this.targetName(resolution);
    const deed = readDeed(nonEmpty(this.turn.input.description) ?? "", this.who);
    let phrases = words.ATTEMPT[resolution.action][deed.form];
    // "rounds on Old Wick and shoves Old Wick": the deed names the target already
    const bare = target.replace(/"/gu, "").toLowerCase();
    if (this.turn.input.target && deed.text.toLowerCase().includes(bare)) {
      const untargeted = phrases.filter((phrase) => !phrase.includes("{target}"));
      if (untargeted.length > 0) phrases = untargeted;
    }
    const core = this.pick(phrases, { target, deed: deed.text });
    const result = this.pick(words.RESULT[resolution.action][resolution.outcome], { target });
    const lead = this.lead(resolution, deed.text);
    if (!resolution.hidden) return `${lead}${core} ${result}`;
    // the core starts with a name, which keeps its capital; a lead after the prefix does not
    return `${this.pick(words.HIDDEN_PREFIX)}${lowerFirst(lead)}${core} ${result}`;
  }

  /** What goes before the attempt: the aspects invoked for it, else now and then the skill's manner. */
  private lead(resolution: Resolution, deed: string): string {
    const invoke = this.turn.events.find((event) => event.type === "invoke");
    const aspects = invoke ? this.invoked(invoke) : null;
    if (aspects) return this.pick(words.INVOKE_LEAD, { aspects });
    const skill = resolution.skill.toLowerCase();
    const manner = Object.hasOwn(words.MANNER, skill) ? words.MANNER[skill] : undefined;
    // "Quietly, Mara quietly slips past": a deed with a manner of its own needs no other
    if (!manner || resolution.hidden || /^\p{L}+ly\b/u.test(deed) || this.random.int(0, 2) !== 0) return "";
    return `${manner}, `;
  }

  /** The quoted names of an invoke's aspects: "A", "B" and "C". */
  private invoked(event: TurnEvent): string | null {
    const names = Array.isArray(event.data.aspects) ? (event.data.aspects as unknown[]).map(String) : [];
    if (names.length === 0) return null;
    const quoted = names.map((name) => `"${name}"`);
    return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)!}`;
  }

  /** A choice or free text: the character's own words, never a bare "I" no reader can place. */
  private ownWords(event: TurnEvent): string {
    const text = nonEmpty(this.turn.input.text)?.trim();
    if (!text) return sentence(event.description);
    const deed = readDeed(text, this.who);
    const form = deed.form;
    if (form === "sentence") return sentence(text);
    if (event.type === "custom" && form === "does") return sentence(`${this.who} ${lowerFirst(text)}`);
    if (event.type === "custom") return this.pick(words.CUSTOM, { text: sentence(capitalI(text)) });
    // "decides: take the ferry" (from "Take the ferry", or "I take the ferry"); a name keeps its capital
    const common = form === "verb" || form === "noun" || form === "does";
    return this.pick(words.CHOICE, { text: stop(common ? deed.text : capitalI(text)) });
  }

  /** The scene command's own title and summary; the state's scene is a later one if the turn is old. */
  private sceneStarted(event: TurnEvent): string {
    const scene = this.state.scene;
    const current = event.data.sceneId === undefined || scene.id === event.data.sceneId;
    const title = nonEmpty(this.turn.input.title) ?? (current ? scene.title : null);
    if (!title) return sentence(event.description);
    const place = this.placeName(event.data.location);
    const opening = place
      ? this.pick(words.SCENE_OPENING_AT, { place, title: title.trim() })
      : this.pick(words.SCENE_OPENING, { title: title.trim() });
    const summary = (nonEmpty(this.turn.input.summary) ?? (current ? scene.summary : "")).trim();
    return summary ? `${opening} ${sentence(summary)}` : opening;
  }

  private location(event: TurnEvent): string {
    const id = nonEmpty(event.data.locationId);
    const opened = this.turn.events.find((other) => other.type === "scene_started");
    // "A new scene opens at the Old Mill. The Old Mill is discovered."
    if (id && event.data.discovered === true && opened?.data.location === id)
      return this.pick(words.FOUND_HERE);
    return sentence(event.description);
  }

  /** Stress that takes the target out is told by the `taken_out` event that follows it. */
  private stress(event: TurnEvent): string | null {
    const characterId = nonEmpty(event.data.characterId);
    const name = this.anyName(characterId ?? nonEmpty(event.data.npcId));
    if (!name) return sentence(event.description);
    const severities = Array.isArray(event.data.consequences) ? (event.data.consequences as string[]) : [];
    const character = characterId ? this.state.characters[characterId] : undefined;
    const wounds = severities
      .map((severity) => character?.consequences[severity as "mild" | "moderate" | "severe"]?.aspect)
      .filter((aspect): aspect is string => typeof aspect === "string")
      .map((aspect) => `"${aspect}"`);
    if (wounds.length > 0) return this.pick(words.CONSEQUENCE, { name, wound: wounds.join(" and ") });
    if (event.data.box === null || event.data.box === undefined) return null;
    const track =
      nonEmpty(event.data.track) ?? (this.turn.resolution ? stressTrackFor(this.turn.resolution.skill) : "");
    return this.pick(words.STRESS[track === "mental" ? "mental" : "physical"], { name });
  }

  /** An event about one character or NPC, named by `key` in its data. */
  private about(event: TurnEvent, key: string, phrases: Phrases): string {
    const name = this.anyName(nonEmpty(event.data[key]));
    return name ? this.pick(phrases, { name }) : sentence(event.description);
  }

  private targetName(resolution: Resolution): string {
    const target = this.turn.input.target as { type?: string; id?: string } | undefined;
    if (target?.type === "character") return this.characterName(target.id ?? null) ?? "their rival";
    if (target?.type === "npc") return readNpc(this.state, target.id ?? "")?.name ?? "their foe";
    if (target?.type === "aspect") {
      const aspect = this.state.scene.aspects[target.id ?? ""];
      return aspect ? `"${aspect.name}"` : "the situation";
    }
    // "sizes up the scene" is the game's word, not the story's
    if (target?.type === "scene")
      return resolution.action === "create_advantage" ? "the surroundings" : "the situation";
    return {
      overcome: "the obstacle",
      create_advantage: "the situation",
      attack: "the foe",
      defend: "the threat",
    }[resolution.action];
  }

  private placeName(location: unknown): string {
    const id = nonEmpty(location);
    if (!id) return "";
    return readLocation(this.state, id)?.name ?? id;
  }

  characterName(id: string | null): string | null {
    if (!id) return null;
    return this.state.characters[id]?.name ?? null;
  }

  private anyName(id: string | null): string | null {
    if (!id) return null;
    return this.characterName(id) ?? readNpc(this.state, id)?.name ?? null;
  }

  pick(phrases: Phrases, slots: Slots = {}): string {
    const phrase = phrases[this.random.int(0, phrases.length - 1)]!;
    const all: Slots = { who: this.who, ...slots };
    const filled = phrase.replace(/\{(\w+)\}/g, (_, name: string) => all[name] ?? "");
    return upperFirst(tidy(filled));
  }
}

/** A player's "i" as a word of its own is the pronoun: "i think we wait" reads "I think we wait". */
function capitalI(text: string): string {
  return text.replace(/(^|[\s"(])i(?=$|[\s'’,.!?;:])/gu, "$1I");
}
