import { canonicalJson } from "../canonical.ts";
import type { Relationship, UniverseState } from "../state.ts";
import type { TurnKind } from "../turn.ts";
import { shownSceneAspects } from "../scene-aspects.ts";
import { renderRecap } from "./recap-text.ts";
import { clip, compareCodeUnits, oneLine } from "./text.ts";
import { isAwayTurn, isStoryTurn, selectWhileAway, visibleText, type TimelineTurn } from "./timeline.ts";
import { listNpcs, listQuests } from "../world-records.ts";

/** How much a recap shows; anything beyond is counted in `omitted`. */
export const RECAP_LIMITS = {
  lastTurns: 10,
  whileYouWereAway: 20,
  keyNpcs: 12,
  activeQuests: 12,
  retcons: 10,
  /** Situation aspects first, then the newest boosts (shownSceneAspects). */
  sceneAspects: 12,
  /**
   * "While you were away" turns counted at most: past it a recap says "more than" this many, so
   * a fresh run in a long universe costs what it costs in a short one.
   */
  awayCounted: 1_000,
  /** Characters per turn, note or NPC line. */
  itemChars: 400,
  /** Other characters' sessions told in "while you were away" (RecapInput.othersSessions), newest. */
  othersSessions: 5,
} as const;

export interface RecapInput {
  state: UniverseState;
  characterId: string;
  /** Her name as created, for a character not in the story yet (her run has not joined play). */
  characterName?: string;
  /** This run's turns, ascending; only the last ten story turns are used. */
  runTurns: readonly TimelineTurn[];
  /**
   * Other characters' turns since this run's previous session end, ascending: all of them, or
   * (with `awayTotal`) the newest that qualify for "while you were away".
   */
  othersSince: readonly TimelineTurn[];
  /**
   * How many turns qualify for "while you were away" in all, when `othersSince` holds only the
   * newest of them (counted up to RECAP_LIMITS.awayCounted + 1).
   */
  awayTotal?: number;
  /**
   * Session ends of the universe, ascending, whatever character's (this one's and those outside
   * the recap's window are passed over): each other character's session since this run's previous
   * one is told in "while you were away" by its summary, so that what the others did meanwhile is
   * there, not only their major turns. The newest RECAP_LIMITS.othersSessions are told.
   */
  othersSessions?: ReadonlyArray<TimelineTurn & { input: Record<string, unknown> }>;
  /**
   * Where this run's previous session ended (where its player dropped, for one that ended because
   * she did not come back); null on its first session.
   */
  previousSessionEnd: number | null;
  /**
   * The summary that session ended with (its `session_end` turn's), which the recap opens with:
   * the run's own last time, not whoever at the table ended a session last (canon.summaryRecent).
   * Empty on a first session.
   */
  previousSummary: string;
  /** The position the recap is built at (the universe head when a player joins). */
  head: number;
  /**
   * The name of the universe played: a branch's own, where its state still carries the name of
   * the universe it branched from. The state's when not given.
   */
  universeName?: string;
}

export interface RecapScene {
  title: string;
  location: string | null;
  summary: string;
  aspects: string[];
}

export interface RecapQuest {
  id: string;
  title: string;
  details: string;
  lastUpdatePosition: number;
}

export interface RecapNpc {
  id: string;
  name: string;
  attitude: Relationship;
  notes: string;
  lastSeenPosition: number | null;
}

export interface RecapTurn {
  position: number;
  kind: TurnKind;
  text: string;
}

export interface RecapAwayTurn {
  position: number;
  /** Null for the game master's world events. */
  characterId: string | null;
  characterName: string | null;
  text: string;
}

export interface Recap {
  universeName: string;
  head: number;
  previousSessionEnd: number | null;
  characterId: string;
  characterName: string;
  recentSummary: string;
  scene: RecapScene;
  activeQuests: RecapQuest[];
  keyNpcs: RecapNpc[];
  lastTurns: RecapTurn[];
  whileYouWereAway: RecapAwayTurn[];
  retcons: Array<{ position: number; note: string }>;
  /** How many items each capped list left out (the oldest, or the least recently seen). */
  omitted: {
    activeQuests: number;
    keyNpcs: number;
    whileYouWereAway: number;
    retcons: number;
    sceneAspects: number;
  };
  /**
   * More turns qualified for "while you were away" than RECAP_LIMITS.awayCounted: its `omitted`
   * then counts up to that limit only.
   */
  awayCountCapped: boolean;
  /** The recap as Markdown ("## Last time on …"). */
  text: string;
}

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

function itemText(text: string): string {
  return clip(oneLine(text), RECAP_LIMITS.itemChars);
}

function nameOf(state: UniverseState, characterId: string, asCreated?: string): string {
  return own(state.characters, characterId)?.name ?? asCreated ?? characterId;
}

/** The last `n` items of a list, and how many came before them. */
function lastN<T>(items: readonly T[], n: number): { kept: T[]; omitted: number } {
  const start = Math.max(0, items.length - n);
  return { kept: items.slice(start), omitted: start };
}

function sceneOf(state: UniverseState): { scene: RecapScene; omitted: number } {
  const { shown, omitted } = shownSceneAspects(state.scene.aspects, RECAP_LIMITS.sceneAspects);
  const { title, location, summary } = state.scene;
  const scene = {
    title: itemText(title),
    location: location === null ? null : itemText(location),
    summary: oneLine(summary),
    aspects: shown.map((aspect) => itemText(aspect.name)),
  };
  return { scene, omitted };
}

/** Active quests, most recently updated first. */
function activeQuestsOf(state: UniverseState): { kept: RecapQuest[]; omitted: number } {
  const active = listQuests(state)
    .filter((quest) => quest.state === "active")
    .sort((a, b) => b.lastUpdatePosition - a.lastUpdatePosition || compareCodeUnits(a.id, b.id));
  const kept = active.slice(0, RECAP_LIMITS.activeQuests).map((quest) => ({
    id: quest.id,
    title: itemText(quest.title),
    details: itemText(quest.details),
    lastUpdatePosition: quest.lastUpdatePosition,
  }));
  return { kept, omitted: active.length - kept.length };
}

/** NPCs with a feeling of their own about the character: last seen most recently first, then by id. */
function keyNpcsOf(state: UniverseState, characterId: string): { kept: RecapNpc[]; omitted: number } {
  const known: RecapNpc[] = [];
  for (const npc of listNpcs(state)) {
    const attitude = own(npc.attitudes, characterId);
    if (attitude === undefined) continue;
    known.push({
      id: npc.id,
      name: itemText(npc.name),
      attitude,
      notes: itemText(npc.notes),
      lastSeenPosition: npc.lastSeenPosition,
    });
  }
  known.sort(
    (a, b) => (b.lastSeenPosition ?? -1) - (a.lastSeenPosition ?? -1) || compareCodeUnits(a.id, b.id),
  );
  const kept = known.slice(0, RECAP_LIMITS.keyNpcs);
  return { kept, omitted: known.length - kept.length };
}

function lastTurnsOf(input: RecapInput): RecapTurn[] {
  const picked: RecapTurn[] = [];
  // Walk back from the end: only the last few story turns matter, however long the run.
  for (let i = input.runTurns.length - 1; i >= 0 && picked.length < RECAP_LIMITS.lastTurns; i--) {
    const turn = input.runTurns[i]!;
    if (turn.position > input.head || !isStoryTurn(turn)) continue;
    picked.push({ position: turn.position, kind: turn.kind, text: itemText(visibleText(turn)) });
  }
  return picked.sort((a, b) => a.position - b.position);
}

/**
 * The latest qualifying turns of others, and how many earlier ones there are. One backward pass
 * without copying the slice (it may hold tens of thousands of turns after a long absence); a slice
 * that is not in ascending order takes the slower sorting path.
 */
function awayTurnsOf(input: RecapInput): { kept: TimelineTurn[]; omitted: number } {
  const { othersSince: turns, characterId, head } = input;
  const from = input.previousSessionEnd ?? 0;
  const latest: TimelineTurn[] = [];
  let total = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!;
    if (i > 0 && turns[i - 1]!.position > turn.position) {
      const all = selectWhileAway(turns, characterId, input.previousSessionEnd).filter(
        (away) => away.position <= head,
      );
      return lastN(all, RECAP_LIMITS.whileYouWereAway);
    }
    if (turn.position > head || !isAwayTurn(turn, characterId, from)) continue;
    total += 1;
    if (latest.length < RECAP_LIMITS.whileYouWereAway) latest.push(turn);
  }
  return { kept: latest.reverse(), omitted: total - latest.length };
}

function whileAwayOf(input: RecapInput): { kept: RecapAwayTurn[]; omitted: number; capped: boolean } {
  const away = awayTurnsOf(input);
  const { kept } = away;
  const total = Math.max(kept.length + away.omitted, input.awayTotal ?? 0);
  const capped = total > RECAP_LIMITS.awayCounted;
  const omitted = Math.min(total, RECAP_LIMITS.awayCounted) - kept.length;
  const turns = kept.map((turn) => ({
    position: turn.position,
    characterId: turn.characterId,
    characterName: turn.characterId === null ? null : nameOf(input.state, turn.characterId),
    text: itemText(visibleText(turn, true)),
  }));
  return {
    capped,
    kept: [...turns, ...othersSessionsOf(input)].sort((a, b) => a.position - b.position),
    omitted,
  };
}

/** The newest sessions other characters ended since this run's previous one, told by their summaries. */
function othersSessionsOf(input: RecapInput): RecapAwayTurn[] {
  const since = input.previousSessionEnd ?? 0;
  const ends = input.othersSessions ?? [];
  const told: RecapAwayTurn[] = [];
  for (let i = ends.length - 1; i >= 0 && told.length < RECAP_LIMITS.othersSessions; i--) {
    const end = ends[i]!;
    const { characterId } = end;
    const summary = typeof end.input.summary === "string" ? end.input.summary.trim() : "";
    if (end.position <= since || end.position > input.head || end.kind !== "session_end") continue;
    if (end.status !== "applied" || characterId === null || characterId === input.characterId) continue;
    // a glance at the table has no summary, and nothing to tell
    if (summary === "") continue;
    told.push({
      position: end.position,
      characterId,
      characterName: nameOf(input.state, characterId),
      text: itemText(summary),
    });
  }
  return told.reverse();
}

function retconsOf(input: RecapInput): { kept: Array<{ position: number; note: string }>; omitted: number } {
  const since = input.previousSessionEnd ?? 0;
  const notes = input.state.canon.retconNotes
    .filter((retcon) => retcon.position > since && retcon.position <= input.head)
    .map((retcon) => ({ position: retcon.position, note: itemText(retcon.note) }))
    .sort((a, b) => a.position - b.position || compareCodeUnits(a.note, b.note));
  return lastN(notes, RECAP_LIMITS.retcons);
}

/**
 * "Last time on…": what a player needs to pick a run up again, built from the state and the log
 * alone. The same input always gives the same recap, byte for byte (see `recapBytes`): every list
 * has a total order that never depends on object key order, and no text is locale-formatted.
 * Hidden events, GM notes and undone turns never appear.
 */
export function buildRecap(input: RecapInput): Recap {
  const { state, characterId } = input;
  const quests = activeQuestsOf(state);
  const npcs = keyNpcsOf(state, characterId);
  const away = whileAwayOf(input);
  const retcons = retconsOf(input);
  const scene = sceneOf(state);
  const recap: Omit<Recap, "text"> = {
    universeName: oneLine(input.universeName ?? state.universe.name),
    head: input.head,
    previousSessionEnd: input.previousSessionEnd,
    characterId,
    characterName: nameOf(state, characterId, input.characterName),
    recentSummary: input.previousSummary.trim(),
    scene: scene.scene,
    activeQuests: quests.kept,
    keyNpcs: npcs.kept,
    lastTurns: lastTurnsOf(input),
    whileYouWereAway: away.kept,
    retcons: retcons.kept,
    omitted: {
      activeQuests: quests.omitted,
      keyNpcs: npcs.omitted,
      whileYouWereAway: away.omitted,
      retcons: retcons.omitted,
      sceneAspects: scene.omitted,
    },
    awayCountCapped: away.capped,
  };
  return { ...recap, text: renderRecap(recap) };
}

/** The recap's canonical bytes: what "byte-identical" means, and what a cache or test compares. */
export function recapBytes(recap: Recap): string {
  return canonicalJson(recap);
}
