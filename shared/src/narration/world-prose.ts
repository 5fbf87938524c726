import type { Relationship, UniverseState } from "../state.ts";
import type { Turn, TurnEvent } from "../turn.ts";
import { npcPath, readNpc, readQuest } from "../world-records.ts";
import * as words from "./phrases.ts";
import type { Phrases } from "./phrases.ts";
import { nonEmpty, sentence } from "../prose.ts";

/**
 * The prose of what changes in the world and on a character's sheet: feelings, quests, compels,
 * milestones, a run's end. The rules describe them in the game's terms ("is now wary towards
 * Mara (was hostile)", "gains a fate point", "a minor milestone"); a story tells what they mean.
 */

/** What the template narrator lends these tellers: the turn, its state, its seeded phrasing. */
export interface Voice {
  readonly turn: Turn;
  readonly state: UniverseState;
  pick(phrases: Phrases, slots?: Record<string, string>): string;
  characterName(id: string | null): string | null;
}

const RELATIONSHIPS: readonly Relationship[] = ["hostile", "wary", "neutral", "friendly", "ally"];

export function tellAttitude(voice: Voice, event: TurnEvent): string | null {
  const npc = readNpc(voice.state, nonEmpty(event.data.npcId) ?? "");
  const now = relationship(event.data.attitude);
  const characterId = nonEmpty(event.data.characterId);
  const name = voice.characterName(characterId);
  if (!npc) return sentence(event.description);
  if (!characterId) {
    const general = relationship(event.data.relationship);
    return general ? voice.pick(words.DISPOSITION[general], { npc: npc.name }) : sentence(event.description);
  }
  if (!now || !name) return sentence(event.description);
  const slots = { npc: npc.name, name };
  const input = voice.turn.input as { action?: unknown; target?: { type?: string; id?: string } };
  if (now === "hostile" && input.action === "attack" && input.target?.id === npc.id) {
    // out of the fight already, the NPC's enmity is the least of it
    const out = voice.turn.events.some(
      (other) => other.type === "taken_out" && other.data.targetId === npc.id,
    );
    return out ? null : voice.pick(words.ATTACKED, slots);
  }
  const before = relationship(event.data.previous) ?? previousAttitude(voice, npc.id, characterId);
  if (!before) return voice.pick(words.ATTITUDE_NOW[now], slots);
  const step = RELATIONSHIPS.indexOf(now) - RELATIONSHIPS.indexOf(before);
  const phrases =
    step > 0 ? words.ATTITUDE_WARMER[now] : step < 0 ? words.ATTITUDE_COLDER[now] : words.ATTITUDE_SAME[now];
  return voice.pick(phrases ?? words.ATTITUDE_NOW[now], slots);
}

/**
 * A game master's change of attitude records what it replaced in its delta's `prev`; none means
 * the NPC had no feeling of its own for the character, only its disposition towards everyone.
 */
function previousAttitude(voice: Voice, npcId: string, characterId: string): Relationship | null {
  const path = npcPath(npcId, "attitudes", characterId);
  const delta = voice.turn.deltas.find((candidate) => candidate.path === path);
  if (!delta) return null;
  return relationship(delta.prev) ?? relationship(readNpc(voice.state, npcId)?.relationship);
}

export function tellQuest(voice: Voice, event: TurnEvent): string {
  const quest = readQuest(voice.state, nonEmpty(event.data.questId) ?? "");
  if (!quest) return sentence(event.description);
  const phrases =
    event.type === "quest_added"
      ? words.QUEST_ADDED
      : event.type === "quest_resolved"
        ? words.QUEST_RESOLVED
        : event.type === "quest_failed"
          ? words.QUEST_FAILED
          : event.data.state === "paused"
            ? words.QUEST_PAUSED
            : event.data.state === "active"
              ? words.QUEST_RESUMED
              : null;
  return phrases ? voice.pick(phrases, { quest: `"${quest.title}"` }) : sentence(event.description);
}

export function tellCompel(voice: Voice, event: TurnEvent): string {
  const name = voice.characterName(nonEmpty(event.data.characterId));
  const aspect = nonEmpty(event.data.aspect);
  if (!name || !aspect) return sentence(event.description);
  const slots = { name, aspect: `"${aspect}"` };
  if (event.type === "compel_refused") return voice.pick(words.COMPEL_REFUSED, slots);
  const complication = nonEmpty(event.data.complication);
  const told = voice.pick(words.COMPEL_ACCEPTED, slots);
  return complication ? `${told} ${sentence(complication)}` : told;
}

export function tellMilestone(voice: Voice, event: TurnEvent): string {
  const name = voice.characterName(nonEmpty(event.data.characterId));
  const level = nonEmpty(event.data.level) ?? "";
  if (!name || !Object.hasOwn(words.MILESTONE, level)) return sentence(event.description);
  const told = voice.pick(words.MILESTONE[level]!, { name });
  // the game master's note travels in the description only: "… reaches a minor milestone: note"
  const note = / milestone: (.+)$/su.exec(event.description)?.[1]?.trim();
  return note ? `${told} ${sentence(note)}` : told;
}

export function tellRunEnded(voice: Voice, event: TurnEvent): string {
  const name = voice.characterName(nonEmpty(event.data.characterId));
  if (!name) return sentence(event.description);
  if (event.data.outcome !== "completed") return voice.pick(words.RUN_ABANDONED, { name });
  const reason = nonEmpty(event.data.reason)?.trim();
  return reason
    ? voice.pick(words.RUN_COMPLETED_WHY, { name, reason })
    : voice.pick(words.RUN_COMPLETED, { name });
}

function relationship(value: unknown): Relationship | null {
  return RELATIONSHIPS.find((candidate) => candidate === value) ?? null;
}
