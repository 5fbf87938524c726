import { listLocations, listNpcs, listQuests, locationPath, npcPath, questPath } from "../world-records.ts";
import type { Command, Invoke, Target } from "../command.ts";
import type { DecidableCommand } from "../decide.ts";
import type { Random } from "../dice.ts";
import type { Delta } from "../delta.ts";
import type { Actor } from "../rules/context.ts";
import { defaultUndoTarget } from "../rules/undo.ts";
import type { Character, Relationship, UniverseState } from "../state.ts";
import type { Turn } from "../turn.ts";
import { ADVANTAGES, CHOICES, COMPELS, OBSTACLES, SAYINGS, SCENES, WORLD_EVENTS } from "./words.ts";

/** A command someone might send now, and one that must follow it (a session end's restart). */
export interface Proposal {
  actor: Actor;
  command: DecidableCommand;
  then?: Proposal;
}

const GM: Actor = { kind: "gm", playerId: "gm-1" };
const SKILLS = [
  "Athletics",
  "Notice",
  "Burglary",
  "Lore",
  "Rapport",
  "Will",
  "Physique",
  "Stealth",
  "Deceive",
] as const;
const ATTACK_SKILLS = ["Fight", "Fight", "Shoot", "Provoke"] as const;
const ATTITUDES: readonly Relationship[] = ["hostile", "wary", "neutral", "friendly", "ally"];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.int(0, items.length - 1)]!;
}

function values<T>(record: Record<string, T>): T[] {
  return Object.values(record);
}

function invokesFor(state: UniverseState, character: Character, random: Random): Invoke[] {
  if (random.int(1, 100) > 22) return [];
  const effect = random.int(1, 4) === 1 ? "reroll" : "bonus";
  const free = values(state.scene.aspects).filter((aspect) => aspect.freeInvokes > 0);
  if (free.length > 0 && random.int(1, 2) === 1)
    return [{ aspect: pick(random, free).id, effect, payment: "free_invoke" }];
  if (character.fatePoints === 0) return [];
  return [
    { aspect: pick(random, [character.highConcept, ...character.aspects]), effect, payment: "fate_point" },
  ];
}

function npcTarget(state: UniverseState, random: Random): Target | undefined {
  const standing = listNpcs(state).filter((npc) => !npc.takenOut);
  return standing.length === 0 ? undefined : { type: "npc", id: pick(random, standing).id };
}

function action(state: UniverseState, character: Character, random: Random, roll: number): Command {
  const base = {
    kind: "action" as const,
    characterId: character.id,
    hidden: false,
    invokes: invokesFor(state, character, random),
  };
  if (roll <= 24) {
    // a player names no difficulty (the game master sets them): Fair, or the NPC's own skill
    const target = random.int(1, 10) <= 3 ? npcTarget(state, random) : undefined;
    return {
      ...base,
      action: "overcome",
      skill: pick(random, SKILLS),
      description: pick(random, OBSTACLES),
      target,
    };
  }
  if (roll <= 38) {
    const aspects = values(state.scene.aspects).filter((aspect) => !aspect.boost);
    const r = random.int(1, 10);
    const target: Target =
      r <= 2 && aspects.length > 0
        ? { type: "aspect", id: pick(random, aspects).id }
        : r <= 4
          ? (npcTarget(state, random) ?? { type: "scene" })
          : { type: "scene" };
    return {
      ...base,
      action: "create_advantage",
      skill: pick(random, SKILLS),
      description: "",
      target,
      aspectName: pick(random, ADVANTAGES),
    };
  }
  if (roll <= 48) {
    const others = values(state.characters).filter(
      (other) => other.id !== character.id && !other.takenOut && !other.conceded,
    );
    const target =
      random.int(1, 10) === 1 && others.length > 0
        ? { type: "character" as const, id: pick(random, others).id }
        : npcTarget(state, random);
    return { ...base, action: "attack", skill: pick(random, ATTACK_SKILLS), description: "", target };
  }
  return {
    ...base,
    action: "defend",
    skill: "Athletics",
    description: "a hail of arrows",
  };
}

/** Something a player might do with one of the characters still in play. */
export function playerCommand(state: UniverseState, random: Random, recent: readonly Turn[]): Proposal {
  const active = values(state.characters).filter((character) => !character.takenOut && !character.conceded);
  if (active.length === 0)
    return {
      actor: GM,
      command: { kind: "scene", title: pick(random, SCENES), location: null, summary: "" },
    };
  const character = pick(random, active);
  const actor: Actor = { kind: "player", playerId: character.playerId };
  const characterId = character.id;
  const roll = random.int(1, 100);
  if (roll <= 52) return { actor, command: action(state, character, random, roll) };
  if (roll <= 70) {
    const [optionId, text] = pick(random, CHOICES);
    return { actor, command: { kind: "choice", characterId, optionId, text } };
  }
  if (roll <= 91 && state.mode === "conflict" && roll > 88)
    return { actor, command: { kind: "concede", characterId } };
  if (roll > 91 && roll <= 94) {
    const target = defaultUndoTarget(recent, actor);
    if (target !== null) return { actor, command: { kind: "undo", targetPosition: target } };
  }
  if (roll > 94 && roll <= 97) {
    return {
      actor,
      command: { kind: "session_end", characterId, summary: `${character.name} rests after a long night.` },
      then: { actor, command: { kind: "session_start", characterId } },
    };
  }
  return { actor, command: { kind: "custom", characterId, text: pick(random, SAYINGS) } };
}

function worldDeltas(state: UniverseState, random: Random, position: number): Delta[] {
  const r = random.int(1, 5);
  if (r === 1) {
    const hidden = listLocations(state).filter((location) => location.discoveredAt === null);
    if (hidden.length > 0)
      return [{ op: "set", path: locationPath(pick(random, hidden).id, "discoveredAt"), value: position }];
    const id = `cove-${position}`;
    return [
      {
        op: "set",
        path: locationPath(id),
        value: {
          id,
          name: `Cove ${position}`,
          region: "coast",
          notes: "",
          discoveredAt: random.int(1, 2) === 1 ? position : null,
        },
      },
    ];
  }
  if (r === 2) {
    const npc = pick(random, listNpcs(state));
    const character = pick(random, values(state.characters));
    return [{ op: "set", path: npcPath(npc.id, "attitudes", character.id), value: pick(random, ATTITUDES) }];
  }
  if (r === 3) {
    const active = listQuests(state).filter((quest) => quest.state === "active");
    if (active.length >= 3 || (active.length > 0 && random.int(1, 2) === 1)) {
      const quest = pick(random, active);
      return [
        {
          op: "set",
          path: questPath(quest.id, "state"),
          value: random.int(1, 4) === 1 ? "failed" : "resolved",
        },
        { op: "set", path: questPath(quest.id, "lastUpdatePosition"), value: position },
      ];
    }
    const id = `quest-${position}`;
    const value = {
      id,
      title: `Find what the tide took (${position})`,
      state: "active",
      details: "",
      lastUpdatePosition: position,
    };
    return [{ op: "set", path: questPath(id), value }];
  }
  if (r === 4 && random.int(1, 3) === 1) {
    const id = `npc-${position}`;
    const value = {
      id,
      name: `Stranger ${position}`,
      relationship: pick(random, ATTITUDES),
      attitudes: {},
      notes: "",
      gmNotes: "",
      lastSeenPosition: position,
      stress: [false, false],
      skills: { Fight: random.int(0, 3), Athletics: random.int(0, 3), Will: random.int(0, 3) },
      takenOut: false,
    };
    return [{ op: "set", path: npcPath(id), value }];
  }
  return [];
}

/** Something a game master might do. */
export function gmCommand(state: UniverseState, random: Random, position: number): Proposal {
  const roll = random.int(1, 100);
  if (roll <= 70) {
    const command: Command = {
      kind: "world_event",
      text: pick(random, WORLD_EVENTS),
      major: random.int(1, 10) <= 3,
      deltas: worldDeltas(state, random, position),
    };
    return { actor: GM, command };
  }
  if (roll <= 82) {
    const locations = listLocations(state);
    const location = random.int(1, 3) === 1 ? null : pick(random, locations).id;
    return { actor: GM, command: { kind: "scene", title: pick(random, SCENES), location, summary: "" } };
  }
  if (roll <= 96) {
    const character = pick(random, values(state.characters));
    const aspect = random.int(1, 2) === 1 ? character.trouble : character.highConcept;
    return {
      actor: GM,
      command: {
        kind: "compel",
        characterId: character.id,
        aspect,
        text: pick(random, COMPELS),
        accepted: random.int(1, 10) <= 7,
      },
    };
  }
  const note = `The chapel bell was never rung before turn ${position}.`;
  return {
    actor: GM,
    command: { kind: "retcon", note, deltas: [{ op: "set", path: "/canon/summaryRecent", value: note }] },
  };
}
