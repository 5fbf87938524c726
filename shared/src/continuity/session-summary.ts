import { idsInChangedBuckets } from "../buckets.ts";
import { LIMITS } from "../command.ts";
import { pointer, type Delta } from "../delta.ts";
import type { ConsequenceSeverity, Quest, Relationship, UniverseState } from "../state.ts";
import { turnKindSchema, type TurnKind } from "../turn.ts";
import { clip, keepHead, keepTail, sentence } from "./text.ts";
import { BOOKKEEPING_KINDS, hasVisibleMajorEvent, visibleText, type TimelineTurn } from "./timeline.ts";
import { readNpc, readQuest } from "../world-records.ts";

export const SESSION_SUMMARY_LIMITS = {
  notable: 5,
  notableChars: 240,
  /** The summary travels in a `session_end` command, so it fits the command text limit. */
  textChars: LIMITS.textMax,
  /** `canon.summaryLong` keeps about this many of its latest characters. */
  longChars: 4000,
} as const;

export interface SessionSummaryInput {
  /** The state at the end of the session. */
  state: UniverseState;
  /** The state when the session started. */
  before: UniverseState;
  characterId: string;
  /** The run's turns during the session; other characters' and undone turns are ignored. */
  sessionTurns: readonly TimelineTurn[];
}

export interface QuestChange {
  id: string;
  title: string;
  /** Null when the quest appeared (or disappeared) during the session. */
  from: Quest["state"] | null;
  to: Quest["state"] | null;
}

export interface RelationshipChange {
  npcId: string;
  name: string;
  from: Relationship | null;
  to: Relationship | null;
}

export interface SessionSummary {
  characterId: string;
  characterName: string;
  text: string;
  turns: {
    total: number;
    byKind: Partial<Record<TurnKind, number>>;
    first: number | null;
    last: number | null;
    notable: Array<{ position: number; text: string }>;
  };
  questsAdvanced: QuestChange[];
  relationshipsChanged: RelationshipChange[];
  stress: { physical: boolean[]; mental: boolean[] };
  consequences: Array<{ severity: ConsequenceSeverity; aspect: string }>;
}

const KIND_NOUN: Readonly<Record<TurnKind, [string, string]>> = {
  action: ["action", "actions"],
  choice: ["choice", "choices"],
  custom: ["move of their own", "moves of their own"],
  combat: ["conflict turn", "conflict turns"],
  world_event: ["world event", "world events"],
  system: ["system turn", "system turns"],
  undo: ["undo", "undos"],
  retcon: ["retcon", "retcons"],
  session_start: ["session start", "session starts"],
  session_end: ["session end", "session ends"],
};
const SEVERITIES: readonly ConsequenceSeverity[] = ["mild", "moderate", "severe"];

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Quests whose state changed, appeared or disappeared between the two states, by id. */
export function questChanges(before: UniverseState, after: UniverseState): QuestChange[] {
  const changes: QuestChange[] = [];
  for (const id of idsInChangedBuckets(before.questBuckets, after.questBuckets)) {
    const was = readQuest(before, id);
    const now = readQuest(after, id);
    if (was?.state === now?.state) continue;
    changes.push({ id, title: (now ?? was)!.title, from: was?.state ?? null, to: now?.state ?? null });
  }
  return changes;
}

/** NPCs whose own attitude toward the character changed between the two states, by id. */
export function relationshipChanges(
  before: UniverseState,
  after: UniverseState,
  characterId: string,
): RelationshipChange[] {
  const changes: RelationshipChange[] = [];
  for (const id of idsInChangedBuckets(before.world.npcBuckets, after.world.npcBuckets)) {
    const was = readNpc(before, id);
    const now = readNpc(after, id);
    const from = was === undefined ? null : (own(was.attitudes, characterId) ?? null);
    const to = now === undefined ? null : (own(now.attitudes, characterId) ?? null);
    if (from === to) continue;
    changes.push({ npcId: id, name: (now ?? was)!.name, from, to });
  }
  return changes;
}

function countsText(byKind: Partial<Record<TurnKind, number>>): string {
  const parts: string[] = [];
  for (const kind of turnKindSchema.options) {
    const count = byKind[kind];
    if (count !== undefined) parts.push(`${count} ${KIND_NOUN[kind][count === 1 ? 0 : 1]}`);
  }
  return parts.join(", ");
}

function stateWord(state: Quest["state"] | Relationship | null): string {
  return state ?? "gone";
}

function renderSummary(summary: Omit<SessionSummary, "text">): string {
  const who = summary.characterName;
  const { total, byKind, notable } = summary.turns;
  // A glance at the table (join, read, leave) is no session to tell: an empty text leaves the
  // summaries and the run's "Last time on…" with the last session the character played.
  if (total === 0) return "";
  const sentences = [`${who} played ${total} ${total === 1 ? "turn" : "turns"} (${countsText(byKind)}).`];
  for (const event of notable) sentences.push(sentence(event.text));
  for (const quest of summary.questsAdvanced) {
    sentences.push(`Quest "${quest.title}" is now ${stateWord(quest.to)} (was ${quest.from ?? "unknown"}).`);
  }
  for (const change of summary.relationshipsChanged) {
    sentences.push(
      `${change.name} is now ${stateWord(change.to)} toward ${who} (was ${change.from ?? "indifferent"}).`,
    );
  }
  const marked = (boxes: boolean[]) => boxes.filter(Boolean).length;
  const { physical, mental } = summary.stress;
  sentences.push(
    `Stress: physical ${marked(physical)} of ${physical.length}, mental ${marked(mental)} of ${mental.length}.`,
  );
  if (summary.consequences.length > 0) {
    sentences.push(
      `Consequences: ${summary.consequences.map((c) => `${c.severity} "${c.aspect}"`).join(", ")}.`,
    );
  }
  return keepHead(sentences.join(" "), SESSION_SUMMARY_LIMITS.textChars);
}

/** A notable turn as a session summary tells it (renderSummary makes it a sentence). */
function notableText(turn: TimelineTurn): string {
  return clip(visibleText(turn, true), SESSION_SUMMARY_LIMITS.notableChars);
}

/**
 * What a run did during one play session, from the log and the two states: turns by kind, the
 * notable (major, visible) events, quests and attitudes that changed, and where the character
 * stands now. Bookkeeping turns (session start/end, undo) and the server's (arrival, pause, run
 * end) are not counted. A session in which the character took no turn has an empty text.
 * Deterministic.
 */
export function summarizeSession(input: SessionSummaryInput): SessionSummary {
  const { state, before, characterId } = input;
  const character = own(state.characters, characterId) ?? own(before.characters, characterId);
  const byKind: Partial<Record<TurnKind, number>> = {};
  const notable: Array<{ position: number; text: string }> = [];
  let total = 0;
  let first: number | null = null;
  let last: number | null = null;
  for (const turn of input.sessionTurns) {
    if (turn.characterId !== characterId || turn.status !== "applied" || BOOKKEEPING_KINDS.has(turn.kind))
      continue;
    // the server's turns for her (her arrival, a pause, her run's end) are no play: told when
    // notable, not counted, so that a session of nothing else has no text
    if (turn.kind !== "system") {
      total += 1;
      byKind[turn.kind] = (byKind[turn.kind] ?? 0) + 1;
      first = first === null ? turn.position : Math.min(first, turn.position);
      last = last === null ? turn.position : Math.max(last, turn.position);
    }
    if (hasVisibleMajorEvent(turn)) {
      notable.push({
        position: turn.position,
        text: notableText(turn),
      });
    }
  }
  notable.sort((a, b) => a.position - b.position);
  const summary: Omit<SessionSummary, "text"> = {
    characterId,
    characterName: character?.name ?? characterId,
    turns: { total, byKind, first, last, notable: notable.slice(-SESSION_SUMMARY_LIMITS.notable) },
    questsAdvanced: questChanges(before, state),
    relationshipsChanged: relationshipChanges(before, state, characterId),
    stress: {
      physical: [...(character?.stress.physical ?? [])],
      mental: [...(character?.stress.mental ?? [])],
    },
    consequences: SEVERITIES.flatMap((severity) => {
      const consequence = character?.consequences[severity];
      return consequence ? [{ severity, aspect: consequence.aspect }] : [];
    }),
  };
  return { ...summary, text: renderSummary(summary) };
}

/**
 * The deltas a `session_end` turn carries to record its summary: `canon.summaryRecent` becomes
 * the session's text, and a paragraph for it joins `canon.summaryLong`, which keeps only its
 * latest ~4,000 characters, cut where a paragraph (else a sentence) starts. Being deltas, the
 * summaries are undone, branched and jumped exactly like the rest of the state.
 */
export function summaryDeltas(
  state: UniverseState,
  summary: Pick<SessionSummary, "text">,
  position: number,
): Delta[] {
  const text = summary.text.trim();
  if (text === "") return [];
  const deltas: Delta[] = [];
  const { summaryRecent, summaryLong } = state.canon;
  if (summaryRecent !== text) {
    deltas.push({ op: "set", path: pointer("canon", "summaryRecent"), value: text, prev: summaryRecent });
  }
  const paragraph = `Turn ${position}. ${text}`;
  const joined = summaryLong.trim() === "" ? paragraph : `${summaryLong.trimEnd()}\n\n${paragraph}`;
  const long = keepTail(joined, SESSION_SUMMARY_LIMITS.longChars);
  if (long !== summaryLong) {
    deltas.push({ op: "set", path: pointer("canon", "summaryLong"), value: long, prev: summaryLong });
  }
  return deltas;
}

/**
 * The deltas an undo carries to take its target's notable event out of the session summaries that
 * told it: a turn undone after its session ended would otherwise stay in "the story so far" the
 * narrator is given. The sentence summaryDeltas wrote for it is removed from the first paragraph of
 * `canon.summaryLong` after the turn that holds it (the session it was played in), and from
 * `canon.summaryRecent` when that is the same session's text. The rest of the paragraph (its
 * counts, quests and stress) is left as the session ended.
 */
export function untoldDeltas(state: UniverseState, turn: TimelineTurn): Delta[] {
  if (!hasVisibleMajorEvent(turn)) return [];
  const told = ` ${sentence(notableText(turn))}`;
  const { summaryRecent, summaryLong } = state.canon;
  const paragraphs = summaryLong.split("\n\n");
  const index = paragraphs.findIndex((paragraph) => {
    const session = /^Turn (\d+)\. /.exec(paragraph);
    return session !== null && Number(session[1]) > turn.position && paragraph.includes(told);
  });
  if (index < 0) return [];
  const paragraph = paragraphs[index]!;
  const text = paragraph.slice(paragraph.indexOf(". ") + 2);
  paragraphs[index] = paragraph.replace(told, "");
  const deltas: Delta[] = [
    {
      op: "set",
      path: pointer("canon", "summaryLong"),
      value: paragraphs.join("\n\n"),
      prev: summaryLong,
    },
  ];
  if (summaryRecent === text)
    deltas.push({
      op: "set",
      path: pointer("canon", "summaryRecent"),
      value: text.replace(told, ""),
      prev: summaryRecent,
    });
  return deltas;
}
