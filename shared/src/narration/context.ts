import { canonicalJson, checksum } from "../canonical.ts";
import { listFacts, type FactBuckets } from "../canon-facts.ts";
import { BUCKET_KEYS, bucketOf } from "../buckets.ts";
import { readLocation, readNpc } from "../world-records.ts";
import type { CanonFact, Character, Npc, UniverseState } from "../state.ts";
import { keepFirst, newestFirst } from "../ranked.ts";
import { shownSceneAspects } from "../scene-aspects.ts";
import type { Turn } from "../turn.ts";
import {
  GAME_MASTER,
  isHiddenTurn,
  mayReadMember,
  SPECTATOR,
  viewState,
  viewTurn,
  type Viewer,
} from "../visibility.ts";

/**
 * What a model is told to narrate one turn: a system prompt (the universe's premise, the
 * narrator's voice) and a user message with the story's context, within a token budget.
 *
 * Everything that goes in has passed the visibility function for the audience: prose told to the
 * whole table is built from what a spectator may see (no `gmNotes`, no `private`, no hidden
 * turns), so a model cannot repeat a secret it was never given. Only prose for game masters
 * (hidden rolls) is built from everything.
 */
export interface NarrationPromptInput {
  /** The state after the turn. */
  state: UniverseState;
  turn: Turn;
  /** Turns before this one, oldest first (any number; the newest `lastTurns` are used). */
  previous: readonly Turn[];
  audience: Viewer;
  /** The most the prompt may take, in estimated tokens (about four characters each). */
  budgetTokens?: number;
  lastTurns?: number;
}

export interface NarrationPrompt {
  system: string;
  user: string;
  estimatedTokens: number;
  /** sha256 of the messages' canonical JSON: recorded with the narration. */
  hash: string;
}

export const DEFAULT_PROMPT_BUDGET = 2_000;
const DEFAULT_LAST_TURNS = 8;
const MAX_CHARACTERS = 6;
const MAX_FACTS = 12;
/** The most NPCs a prompt describes: the turn's target first, then those recent turns and facts name. */
const MAX_PEOPLE = 6;
/** The most scene aspects a prompt lists (shownSceneAspects chooses them). */
const MAX_SCENE_ASPECTS = 12;

/** Rough tokens of a text: about four characters each in English prose. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function buildNarrationPrompt(input: NarrationPromptInput): NarrationPrompt {
  const budget = input.budgetTokens ?? DEFAULT_PROMPT_BUDGET;
  const turn = seenTurn(input.turn, input.audience);
  const previous = input.previous
    .filter((t) => t.position < turn.position && t.status === "applied")
    .map((t) => seenTurn(t, input.audience))
    .filter((t) => t.events.length > 0)
    .slice(-(input.lastTurns ?? DEFAULT_LAST_TURNS));
  const state = viewState(promptSlice(input.state, [turn, ...previous], input.audience), input.audience);

  const system = systemPrompt(state, input.audience, turn);
  // Sections in the order they are given up when the budget runs short: the turn itself always
  // stays; the long summary goes first.
  const lastTime = lastTimeOf(turn);
  const meanwhile = meanwhileOf(turn);
  const required = [
    lastTime ? `## Their last session\n${lastTime}` : "",
    `## The turn to narrate\n${turnLines(turn, state)}`,
  ]
    .filter(Boolean)
    .join("\n\n");
  // the canon shown, chosen once: the People section names those of its NPCs the turns do not
  const canon = canonShown(state, turn);
  const optional: string[] = [
    meanwhile.length > 0
      ? `## ${isFirstSession(turn) ? "Before they arrived" : "Meanwhile, the others"}\n${meanwhile.map((line) => `- ${line}`).join("\n")}`
      : "",
    sceneSection(state),
    charactersSection(state, turn, previous),
    peopleSection(state, turn, previous, canon),
    factsSection(state, canon),
    state.canon.summaryRecent.trim() ? `## Recently\n${state.canon.summaryRecent.trim()}` : "",
    previous.length > 0 ? `## The last turns\n${previous.map((t) => turnLines(t, state)).join("\n")}` : "",
    state.canon.summaryLong.trim() ? `## The story so far\n${state.canon.summaryLong.trim()}` : "",
  ];
  let remaining = budget - estimateTokens(system) - estimateTokens(required);
  const kept: string[] = [];
  for (const section of optional) {
    if (!section) continue;
    const cost = estimateTokens(section) + 1;
    if (cost <= remaining) {
      kept.push(section);
      remaining -= cost;
    } else if (remaining > 40) {
      kept.push(section.slice(0, (remaining - 2) * 4).trimEnd() + "…");
      remaining = 0;
    }
  }
  const user = [...kept, required].join("\n\n");
  return {
    system,
    user,
    estimatedTokens: estimateTokens(system) + estimateTokens(user),
    hash: checksum([
      { role: "system", content: system },
      { role: "user", content: user },
    ]),
  };
}

/**
 * A turn as the audience may see it, without its deltas: a prompt tells a turn by its input and
 * events, and deltas, which carry what each change replaced, would be most of what redacting it
 * costs.
 */
function seenTurn(turn: Turn, audience: Viewer): Turn {
  return viewTurn({ ...turn, deltas: [] }, audience);
}

/**
 * The part of the state a prompt may draw on: the characters the turns name, the scene's
 * location and the canon facts the prompt will show, the rest of the world left out. Redacting it
 * for the audience costs what the prompt uses, not what the whole world holds (a long campaign's
 * canon runs to thousands of facts).
 */
function promptSlice(state: UniverseState, turns: readonly Turn[], audience: Viewer): PromptState {
  const characters: PromptState["characters"] = {};
  for (const t of turns) {
    const character = t.characterId ? state.characters[t.characterId] : undefined;
    if (character) characters[t.characterId!] = sheetOf(character);
  }
  const location = state.scene.location ? readLocation(state, state.scene.location) : undefined;
  const factBuckets: FactBuckets = {};
  const npcBuckets: UniverseState["world"]["npcBuckets"] = {};
  const addNpc = (id: unknown) => {
    const npc = typeof id === "string" ? readNpc(state, id) : undefined;
    if (npc) npcBuckets[bucketOf(npc.id)] = { ...npcBuckets[bucketOf(npc.id)], [npc.id]: npc };
  };
  for (const t of turns) addNpc(npcTargetOf(t));
  for (const fact of promptFacts(state, turns[0]!, audience)) {
    const bucket = bucketOf(fact.id);
    factBuckets[bucket] = { ...factBuckets[bucket], [fact.id]: fact };
    // a fact names people by id: the prompt gives their names, and the characters' sheets
    const value = fact.value as Record<string, unknown> | null;
    if (typeof value !== "object" || value === null) continue;
    addNpc(value.npcId);
    const characterId = value.characterId ?? value.createdBy;
    const character = typeof characterId === "string" ? state.characters[characterId] : undefined;
    if (character && !characters[character.id]) characters[character.id] = sheetOf(character);
  }
  return {
    ...state,
    scene: { ...state.scene, aspects: sceneAspects(state.scene.aspects) },
    world: {
      locationBuckets: location ? { [bucketOf(location.id)]: { [location.id]: location } } : {},
      npcBuckets,
      factions: {},
      flags: {},
      majorEvents: [],
    },
    characters,
    questBuckets: {},
    canon: { ...state.canon, factBuckets, retconNotes: [] },
  };
}

/**
 * The scene's aspects a prompt shows (shownSceneAspects), chosen once per aspects container: a
 * turn that adds or changes no aspect leaves the container as it was, so most prompts choose
 * again from the same one.
 */
function sceneAspects(aspects: UniverseState["scene"]["aspects"]): UniverseState["scene"]["aspects"] {
  let chosen = chosenAspects.get(aspects);
  if (!chosen) {
    const { shown, omitted } = shownSceneAspects(aspects, MAX_SCENE_ASPECTS);
    chosen = omitted === 0 ? aspects : Object.fromEntries(shown.map((aspect) => [aspect.id, aspect]));
    chosenAspects.set(aspects, chosen);
  }
  return chosen;
}

const chosenAspects = new WeakMap<object, UniverseState["scene"]["aspects"]>();

/**
 * What a prompt reads of a character (its name and public sheet): the slice holds only these
 * members, so redacting it walks a few strings per character rather than whole sheets, which
 * always carry `gmNotes` and `private`. Whatever the prompt shows still passed `viewState`.
 */
type PromptCharacter = Pick<
  Character,
  "name" | "highConcept" | "trouble" | "aspects" | "consequences" | "takenOut"
>;

/** The state a prompt is built from: the slice of promptSlice, its characters by their sheets. */
type PromptState = Omit<UniverseState, "characters"> & { characters: Record<string, PromptCharacter> };

function sheetOf(c: Character): PromptCharacter {
  return {
    name: c.name,
    highConcept: c.highConcept,
    trouble: c.trouble,
    aspects: c.aspects,
    consequences: c.consequences,
    takenOut: c.takenOut,
  };
}

/** What a turn touches, for choosing facts: its character, its target and the scene's location. */
function factSubjects(state: Pick<UniverseState, "scene">, turn: Turn): Set<string> {
  const ids = new Set<string>();
  if (turn.characterId) ids.add(turn.characterId);
  const target = turn.input.target as { id?: unknown } | undefined;
  if (typeof target?.id === "string") ids.add(target.id);
  if (state.scene.location) ids.add(state.scene.location);
  return ids;
}

/**
 * The live facts factsSection will show: the newest MAX_FACTS of those that name a subject of the
 * turn where the audience can read it, then the newest of the rest. Each bucket is read through
 * its index (bucketIndex), so a telling costs what it shows, not what the canon holds: a long
 * campaign's canon runs to thousands of facts, and a turn changes one bucket at most.
 */
function promptFacts(state: UniverseState, turn: Turn, audience: Viewer): CanonFact[] {
  const ids = factSubjects(state, turn);
  const named: CanonFact[] = [];
  const others: CanonFact[] = [];
  for (const key of BUCKET_KEYS) {
    const bucket = state.canon.factBuckets[key];
    if (!bucket) continue;
    const index = bucketIndex(bucket, audience.role === "gm");
    if (index.live.length === 0) continue;
    // most buckets name none of a turn's few subjects: no set for those
    let naming: Set<CanonFact> | null = null;
    for (const id of ids) {
      const facts = index.naming.get(id);
      if (!facts) continue;
      naming ??= new Set();
      for (const fact of facts) {
        if (naming.has(fact)) continue;
        naming.add(fact);
        keepFirst(named, fact, MAX_FACTS, newestFirst);
      }
    }
    for (const fact of index.live) {
      if (naming?.has(fact)) continue;
      // the bucket's facts come newest first: once one ranks below the list, so do the rest
      if (others.length === MAX_FACTS && newestFirst(fact, others[MAX_FACTS - 1]!) >= 0) break;
      keepFirst(others, fact, MAX_FACTS, newestFirst);
    }
  }
  return [...named, ...others].slice(0, MAX_FACTS);
}

/** A bucket's live facts, newest first, and which of them name each string, as an audience reads them. */
interface BucketIndex {
  live: CanonFact[];
  naming: Map<string, CanonFact[]>;
}

/**
 * Indexes by bucket and by whether the audience is a game master (the only difference
 * mayReadMember makes outside the characters). Buckets are replaced, never changed, when a turn
 * records or supersedes a fact, so an index lives as long as its bucket is part of some state.
 */
const bucketIndexes = [new WeakMap<object, BucketIndex>(), new WeakMap<object, BucketIndex>()] as const;

function bucketIndex(bucket: Record<string, CanonFact>, gm: boolean): BucketIndex {
  const cache = bucketIndexes[gm ? 1 : 0];
  const known = cache.get(bucket);
  if (known) return known;
  const audience = gm ? GAME_MASTER : SPECTATOR;
  const live = Object.values(bucket)
    .filter((fact) => fact.supersededAt === null)
    .sort(newestFirst);
  const naming = new Map<string, CanonFact[]>();
  for (const fact of live)
    for (const name of namesIn(fact.value, audience, new Set())) {
      const list = naming.get(name);
      if (list) list.push(fact);
      else naming.set(name, [fact]);
    }
  const index = { live, naming };
  cache.set(bucket, index);
  return index;
}

/**
 * The strings a value names where the audience can read it: its string values and the names of
 * its members the audience may read, at any depth. A fact names a turn's subject when its id is
 * among them (what factsSection's test on its canonical JSON, `"id"`, finds).
 */
function namesIn(value: unknown, audience: Viewer, into: Set<string>): Set<string> {
  if (typeof value === "string") into.add(value);
  else if (Array.isArray(value)) for (const item of value) namesIn(item, audience, into);
  else if (typeof value === "object" && value !== null)
    for (const key of Object.keys(value)) {
      if (!mayReadMember(key, audience)) continue;
      into.add(key);
      namesIn((value as Record<string, unknown>)[key], audience, into);
    }
  return into;
}

/** A run's first session: its character comes into the story, with nothing to recall. */
const FIRST_SESSION_TASK =
  'A player\'s character joins the story for the first time. Open with a short "The story so far…" drawn from the scene and the last turns, then bring their character into it. Four to six sentences.';

/** What to tell: a turn as it happens, or a session's prose at its start and end. */
const TASK: Partial<Record<Turn["kind"], string>> = {
  session_start:
    'A player returns to the table. Open with a short "Last time on…" recap of the story so far, drawn from their last session, what the others did meanwhile, the scene and the last turns, then welcome their character back. Four to six sentences.',
  session_end:
    "A player's session ends. Retell what happened in it as a short closing passage, drawn from the session's summary and the last turns. Three to five sentences.",
  undo: "An earlier turn is taken back: what it told did not happen. In one or two sentences, return the story to where it stood before that turn, without retelling what was taken back.",
};

function systemPrompt(state: PromptState, audience: Viewer, turn: Turn): string {
  const lines = [
    `You are the narrator of "${state.universe.name}", a Fate Core campaign shared by several players.`,
    state.universe.premise.trim() ? `Premise: ${state.universe.premise.trim()}` : "",
    (isFirstSession(turn) ? FIRST_SESSION_TASK : TASK[turn.kind]) ??
      "Tell what just happened in two to four vivid sentences of present-tense prose.",
    "Stay true to the mechanical outcome given; never change who succeeded or failed.",
    "Never invent dice, numbers or rules terms; do not address the players; no headings or lists.",
    audience.role === "gm"
      ? "This narration is for the game master alone: it may mention secrets."
      : "Everyone at the table reads this: say nothing that is not in the context.",
  ];
  return lines.filter(Boolean).join("\n");
}

function sceneSection(state: PromptState): string {
  const aspects = Object.values(state.scene.aspects).map((a) => said(a.name));
  const location = state.scene.location
    ? (readLocation(state, state.scene.location)?.name ?? state.scene.location)
    : null;
  return [
    `## Scene: ${state.scene.title}${location ? ` (at ${location})` : ""}`,
    state.scene.summary.trim(),
    state.mode === "conflict" ? "A conflict is under way." : "",
    aspects.length > 0 ? `Aspects: ${aspects.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

/** The public sheet of the characters the recent turns involve (the actor first). */
function charactersSection(state: PromptState, turn: Turn, previous: readonly Turn[]): string {
  const ids: string[] = [];
  for (const t of [turn, ...[...previous].reverse()]) {
    if (t.characterId && !ids.includes(t.characterId)) ids.push(t.characterId);
  }
  const sheets = ids
    .slice(0, MAX_CHARACTERS)
    .map((id) => state.characters[id])
    .filter((c): c is PromptCharacter => c !== undefined)
    .map(publicSheet);
  return sheets.length > 0 ? `## Characters\n${sheets.join("\n")}` : "";
}

function publicSheet(c: PromptCharacter): string {
  const consequences = Object.values(c.consequences)
    .filter((x) => x !== null)
    .map((x) => said(x.aspect));
  const parts = [
    `- ${oneLine(c.name)}: ${oneLine(c.highConcept)}`,
    c.trouble ? `trouble ${said(c.trouble)}` : "",
    c.aspects.length > 0 ? `aspects ${c.aspects.map((a) => said(a)).join(", ")}` : "",
    consequences.length > 0 ? `hurt: ${consequences.join(", ")}` : "",
    c.takenOut ? "taken out" : "",
  ];
  return parts.filter(Boolean).join("; ");
}

/** The NPC a turn is aimed at, if any (a hidden turn seen by the table names none). */
function npcTargetOf(turn: Turn): string | undefined {
  const target = turn.input.target as { type?: unknown; id?: unknown } | undefined;
  return target?.type === "npc" && typeof target.id === "string" ? target.id : undefined;
}

/**
 * The NPCs the turn and the recent turns are aimed at, newest first, then those the canon shown
 * names: who they are (their public notes), how they stand towards the characters in the prompt,
 * whether they are out of the fight. The model would otherwise know them by name alone.
 */
function peopleSection(
  state: PromptState,
  turn: Turn,
  previous: readonly Turn[],
  canon: readonly ShownFact[],
): string {
  const ids: string[] = [];
  const add = (id: string | undefined) => {
    if (id !== undefined && !ids.includes(id) && readNpc(state, id)) ids.push(id);
  };
  for (const t of [turn, ...[...previous].reverse()]) add(npcTargetOf(t));
  for (const { fact } of canon) {
    const npcId = (fact.value as { npcId?: unknown } | null)?.npcId;
    if (typeof npcId === "string") add(npcId);
  }
  const lines = ids.slice(0, MAX_PEOPLE).map((id) => personLine(readNpc(state, id)!, state));
  return lines.length > 0 ? `## People\n${lines.join("\n")}` : "";
}

function personLine(npc: Npc, state: PromptState): string {
  const attitudes = Object.entries(npc.attitudes)
    .filter(([id]) => state.characters[id] !== undefined)
    .map(([id, attitude]) => stance(attitude, state.characters[id]!.name));
  const parts = [
    `- ${npc.name}`,
    npc.notes.trim(),
    attitudes.length > 0 ? attitudes.join(", ") : stance(npc.relationship),
    npc.takenOut ? "taken out" : "",
  ];
  return parts.filter(Boolean).join("; ");
}

/** Live canon facts, newest first (read through the accessor, whatever their layout). */
function liveFacts(state: PromptState): CanonFact[] {
  return listFacts(state)
    .filter((fact) => fact.supersededAt === null)
    .sort(newestFirst);
}

/** A canon fact the prompt gives, with its value's canonical JSON. */
interface ShownFact {
  fact: CanonFact;
  text: string;
}

/** Facts that name something the turn touches (its character, its target), then the newest. */
function canonShown(state: PromptState, turn: Turn): ShownFact[] {
  const ids = factSubjects(state, turn);
  const facts = liveFacts(state).map((fact) => ({ fact, text: canonicalJson(fact.value) }));
  const mentions = (fact: { text: string }) => {
    for (const id of ids) if (fact.text.includes(`"${id}"`)) return true;
    return false;
  };
  return [...facts.filter(mentions), ...facts.filter((f) => !mentions(f))].slice(0, MAX_FACTS);
}

function factsSection(state: PromptState, canon: readonly ShownFact[]): string {
  if (canon.length === 0) return "";
  return `## Canon\n${canon.map((f) => `- ${factLine(f.fact, f.text, state)}`).join("\n")}`;
}

/**
 * A canon fact as the model reads it: a sentence with names in place of ids, for the shapes the
 * rules record; any other value (a game master's own fact, a retcon's) as its type and JSON.
 */
export function factLine(fact: Pick<CanonFact, "type" | "value">, json: string, state: NameSource): string {
  const v = fact.value as Record<string, unknown> | null;
  const str = (key: string) => (typeof v?.[key] === "string" ? v[key] : undefined);
  const character = (key: string) => {
    const id = str(key);
    return id === undefined ? undefined : (state.characters[id]?.name ?? id);
  };
  const npc = () => {
    const id = str("npcId");
    return id === undefined ? undefined : (readNpc(state, id)?.name ?? id);
  };
  const line = ((): string | undefined => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    switch (fact.type) {
      case "relationship": {
        const who = npc();
        const attitude = str("attitude") ?? str("relationship");
        if (who === undefined || attitude === undefined) return undefined;
        const was = str("previous");
        return `${who} is ${stance(attitude, character("characterId"))}${was === undefined ? "" : ` (was ${was})`}`;
      }
      case "location": {
        const name = str("name");
        if (name === undefined) return undefined;
        const region = str("region");
        return `${name}${region ? ` (${region})` : ""} ${v.discovered === true ? "has been discovered" : "is known of"}`;
      }
      case "quest": {
        const title = str("title");
        const questState = str("state");
        return title === undefined || questState === undefined
          ? undefined
          : `The quest "${title}" is ${questState}`;
      }
      case "world_event":
        return str("text");
      case "retcon": {
        const note = str("note");
        return note === undefined ? undefined : `Retcon: ${note}`;
      }
      case "aspect": {
        const name = str("name");
        if (name === undefined) return undefined;
        const by = character("createdBy");
        return `${said(name)} became an aspect${by === undefined ? "" : ` through ${oneLine(by)}`}`;
      }
      case "character": {
        const who = character("characterId");
        if (who === undefined) return undefined;
        const milestone = str("milestone");
        if (milestone !== undefined) {
          const note = str("note");
          return `${who} reached a ${milestone} milestone${note ? `: ${note}` : ""}`;
        }
        const concept = str("highConcept");
        return concept === undefined ? undefined : `${str("name") ?? who}, ${concept}, entered the story`;
      }
      default:
        return undefined;
    }
  })();
  return line ?? `${fact.type}: ${json}`;
}

/** An attitude in words: "wary towards Mara", "an ally of Mara", "an ally" (towards no one named). */
function stance(attitude: string, towards?: string): string {
  if (attitude === "ally") return towards === undefined ? "an ally" : `an ally of ${towards}`;
  return towards === undefined ? attitude : `${attitude} towards ${towards}`;
}

/** Where a fact's ids find their names: the characters and the NPCs the prompt holds. */
type NameSource = Pick<UniverseState, "world"> & { characters: Record<string, { name: string }> };

/** What a returning run's previous session ended with, as its session's opening carries it. */
function lastTimeOf(turn: Turn): string {
  const started = turn.events.find((event) => event.type === "session_started");
  const text = started?.data.lastTime;
  return typeof text === "string" ? oneLine(text, 2_000) : "";
}

/** What the others did since the run's previous session, as its opening carries it. */
function meanwhileOf(turn: Turn): string[] {
  const started = turn.events.find((event) => event.type === "session_started");
  const lines = started?.data.meanwhile;
  return Array.isArray(lines)
    ? lines.filter((line): line is string => typeof line === "string").map((line) => oneLine(line))
    : [];
}

function isFirstSession(turn: Turn): boolean {
  return turn.events.some((event) => event.type === "session_started" && event.data.first === true);
}

/**
 * A turn in a line or two: who, the mechanical outcome, and its prose if it has some. What
 * players wrote goes in on one line and what they named in quotes (`said`), so that no text of
 * theirs reads as a heading, a turn or an instruction of the prompt's own.
 */
function turnLines(turn: Turn, state: PromptState): string {
  const who = turn.characterId ? oneLine(state.characters[turn.characterId]?.name ?? "someone") : turn.actor;
  const events = turn.events.map(eventText).join("; ");
  const narration =
    turn.narration && !isHiddenTurn(turn) ? `\n  Told as: ${oneLine(turn.narration.text, 1_200)}` : "";
  const description = typeof turn.input.description === "string" ? turn.input.description : "";
  // an action's events quote its description already: once is enough
  const deed =
    description &&
    !turn.events.some((e) =>
      `${e.description} ${typeof e.data.summary === "string" ? e.data.summary : ""}`.includes(description),
    )
      ? ` (${said(description)})`
      : "";
  return `- Turn ${turn.position}, ${who}${deed}: ${events}${narration}`;
}

/**
 * An event as the prompt tells it. An undo's own description names what it took back, which the
 * model must not tell again as if it happened: it is told by position only.
 */
function eventText(event: Turn["events"][number]): string {
  if (event.type === "undo") {
    const target = event.data.targetPosition;
    return `turn ${typeof target === "number" ? target : "?"} was taken back: what it told did not happen`;
  }
  const summary = typeof event.data.summary === "string" ? event.data.summary : "";
  return oneLine(summary ? `${event.description} (${summary})` : event.description);
}

/** The most of one text of a player's a prompt carries (a description may run to 2,000). */
const MAX_SAID = 600;

/**
 * A text as one line of the prompt: line breaks, tabs and control characters as spaces, chat
 * template markers (`<|…|>`) taken apart, cut at `max` characters.
 */
export function oneLine(text: string, max = MAX_SAID): string {
  const flat = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ")
    .replaceAll("<|", "< |")
    .replaceAll("|>", "| >")
    .replace(/ {2,}/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

/** A name or words of a player's, quoted: one line, its own quotes escaped (JSON's string). */
export function said(text: string, max = MAX_SAID): string {
  return JSON.stringify(oneLine(text, max));
}
