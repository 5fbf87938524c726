import type {
  AspectCommand,
  FactionCommand,
  LocationCommand,
  MilestoneCommand,
  NpcCommand,
  QuestCommand,
} from "../command.ts";
import { pointer, type Delta } from "../delta.ts";
import { isRejection, reject, type Rejection } from "../rejection.ts";
import type { Npc, UniverseState } from "../state.ts";
import { addSceneAspect } from "./aspects.ts";
import { recordCanonOf } from "./canon.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { recordGmDeltas } from "./gm-deltas.ts";
import { findSceneAspect, own, requireGm } from "./lookup.ts";
import { locationPath, npcPath, questPath, readLocation, readNpc, readQuest } from "../world-records.ts";

/**
 * A game master's typed world-building (command.ts): each command becomes the deltas a game master
 * would otherwise write by hand, checked against the state schema, and recorded like a world
 * event's, with canon following them (canon.ts) and an event in words.
 */

type Built = { deltas: Delta[]; text: string; major: boolean; data: Record<string, unknown> } | Rejection;

/** A new thing's id: the one given, or `<prefix>-<position>`; refused if it is taken. */
function newId<T>(
  find: (id: string) => T | undefined,
  given: string | undefined,
  prefix: string,
  ctx: DecideContext,
): string | Rejection {
  const id = given ?? `${prefix}-${ctx.position}`;
  if (find(id)) return reject("conflict", `there is already a ${prefix} "${id}"`);
  return id;
}

/** The existing thing an update or removal names. */
function existing<T>(
  find: (id: string) => T | undefined,
  id: string | undefined,
  what: string,
): T | Rejection {
  if (id === undefined) return reject("invalid_action", `name the ${what} by its id`);
  const found = find(id);
  return found ?? reject("unknown_target", `no ${what} "${id}" in this universe`);
}

function needs<T>(value: T | undefined, what: string): T | Rejection {
  return value === undefined ? reject("invalid_action", `a new one needs ${what}`) : value;
}

/** Sets each given field that differs from the current value. */
function fieldDeltas(
  base: string,
  current: Record<string, unknown>,
  fields: Record<string, unknown>,
): Delta[] {
  const deltas: Delta[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || JSON.stringify(current[key]) === JSON.stringify(value)) continue;
    deltas.push({ op: "set", path: `${base}/${key}`, value, prev: current[key] });
  }
  return deltas;
}

function npc(state: UniverseState, command: NpcCommand, ctx: DecideContext): Built {
  const npcs = (id: string) => readNpc(state, id);
  const { name, relationship, notes, gmNotes, skills } = command;
  if (command.op === "add") {
    const id = newId(npcs, command.id, "npc", ctx);
    if (isRejection(id)) return id;
    const named = needs(name, "a name");
    if (isRejection(named)) return named;
    const created: Npc = {
      id,
      name: named,
      relationship: relationship ?? "neutral",
      attitudes: {},
      notes: notes ?? "",
      gmNotes: gmNotes ?? "",
      lastSeenPosition: ctx.position,
      stress: [false, false],
      skills: skills ?? {},
      takenOut: false,
    };
    return {
      deltas: [{ op: "set", path: npcPath(id), value: created }],
      text: `${named} enters the story`,
      major: false,
      data: { npcId: id },
    };
  }
  const found = existing(npcs, command.id, "NPC");
  if (isRejection(found)) return found;
  const path = npcPath(found.id);
  if (command.op === "remove")
    return {
      deltas: [{ op: "unset", path, prev: found }],
      text: `${found.name} leaves the story`,
      major: false,
      data: { npcId: found.id },
    };
  const deltas = fieldDeltas(path, found, { name, relationship, notes, gmNotes, skills });
  return { deltas, text: `${name ?? found.name} changes`, major: false, data: { npcId: found.id } };
}

function location(state: UniverseState, command: LocationCommand, ctx: DecideContext): Built {
  const locations = (id: string) => readLocation(state, id);
  const { name, region, notes } = command;
  if (command.op === "add") {
    const id = newId(locations, command.id, "location", ctx);
    if (isRejection(id)) return id;
    const named = needs(name, "a name");
    if (isRejection(named)) return named;
    const created = { id, name: named, region: region ?? null, notes: notes ?? "", discoveredAt: null };
    return {
      deltas: [{ op: "set", path: locationPath(id), value: created }],
      text: `${named} is on the map`,
      major: false,
      data: { locationId: id },
    };
  }
  const found = existing(locations, command.id, "location");
  if (isRejection(found)) return found;
  const path = locationPath(found.id);
  if (command.op === "remove")
    return {
      deltas: [{ op: "unset", path, prev: found }],
      text: `${found.name} is gone from the map`,
      major: false,
      data: { locationId: found.id },
    };
  const deltas = fieldDeltas(path, found, { name, region, notes });
  return { deltas, text: `${name ?? found.name} changes`, major: false, data: { locationId: found.id } };
}

function faction(state: UniverseState, command: FactionCommand, ctx: DecideContext): Built {
  const factions = (id: string) => own(state.world.factions, id);
  const { name, standing } = command;
  if (command.op === "add") {
    const id = newId(factions, command.id, "faction", ctx);
    if (isRejection(id)) return id;
    const named = needs(name, "a name");
    if (isRejection(named)) return named;
    return {
      deltas: [
        {
          op: "set",
          path: pointer("world", "factions", id),
          value: { id, name: named, standing: standing ?? 0 },
        },
      ],
      text: `${named} makes itself known`,
      major: false,
      data: { factionId: id },
    };
  }
  const found = existing(factions, command.id, "faction");
  if (isRejection(found)) return found;
  const path = pointer("world", "factions", found.id);
  if (command.op === "remove")
    return {
      deltas: [{ op: "unset", path, prev: found }],
      text: `${found.name} is no more`,
      major: false,
      data: { factionId: found.id },
    };
  const deltas = fieldDeltas(path, found, { name, standing });
  const text =
    standing !== undefined && standing !== found.standing
      ? `The standing of ${name ?? found.name} ${standing > found.standing ? "rises" : "falls"} to ${standing}`
      : `${name ?? found.name} changes`;
  return { deltas, text, major: false, data: { factionId: found.id } };
}

function quest(state: UniverseState, command: QuestCommand, ctx: DecideContext): Built {
  const quests = (id: string) => readQuest(state, id);
  if (command.op === "start") {
    const id = newId(quests, command.id, "quest", ctx);
    if (isRejection(id)) return id;
    const title = needs(command.title, "a title");
    if (isRejection(title)) return title;
    const created = {
      id,
      title,
      state: "active" as const,
      details: command.details ?? "",
      lastUpdatePosition: ctx.position,
    };
    // canon.ts tells the story of a quest's deltas (started, advanced, resolved, failed)
    return {
      deltas: [{ op: "set", path: questPath(id), value: created }],
      text: "",
      major: false,
      data: { questId: id },
    };
  }
  const found = existing(quests, command.id, "quest");
  if (isRejection(found)) return found;
  const path = questPath(found.id);
  const next = command.op === "advance" ? "active" : command.op === "resolve" ? "resolved" : "failed";
  if (command.op !== "advance" && found.state === next)
    return reject("invalid_action", `the quest "${found.title}" is already ${next}`);
  const deltas = fieldDeltas(path, found, {
    title: command.title,
    details: command.details,
    state: next,
    lastUpdatePosition: ctx.position,
  });
  const text = command.op === "advance" ? `The quest "${command.title ?? found.title}" moves on` : "";
  return { deltas, text, major: false, data: { questId: found.id } };
}

/** The typed world-building commands that are deltas and canon (NPCs, locations, factions, quests). */
export function decideWorldBuilding(
  state: UniverseState,
  command: NpcCommand | LocationCommand | FactionCommand | QuestCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(
    ctx.actor,
    `change the world's ${command.kind === "npc" ? "NPCs" : `${command.kind}s`}`,
  );
  if (denied) return denied;
  const built =
    command.kind === "npc"
      ? npc(state, command, ctx)
      : command.kind === "location"
        ? location(state, command, ctx)
        : command.kind === "faction"
          ? faction(state, command, ctx)
          : quest(state, command, ctx);
  if (isRejection(built)) return built;
  if (built.deltas.length === 0)
    return reject("invalid_action", "nothing to change: every field already has that value");
  const recorded = recordGmDeltas(state, built.deltas);
  if (isRejection(recorded)) return recorded;
  const draft = new Draft(recorded.state, ctx);
  draft.lead(recorded.deltas);
  // a change of game masters' notes alone is theirs: told to the table, its event would say when
  // whose secret notes changed
  const secret = recorded.deltas.every((delta) => delta.path.split("/").includes("gmNotes"));
  if (built.text !== "")
    draft.event(command.kind, built.text, { major: built.major, hidden: secret, data: built.data });
  recordCanonOf(draft, recorded.state, recorded.deltas);
  return draft.decision("world_event");
}

/** A situation aspect is put on the scene, or taken off it. */
export function decideAspect(
  state: UniverseState,
  command: AspectCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "change the scene's aspects");
  if (denied) return denied;
  const draft = new Draft(state, ctx);
  if (command.op === "add") {
    const name = needs(command.name, "a name");
    if (isRejection(name)) return name;
    const aspect = addSceneAspect(draft, name, {
      freeInvokes: command.freeInvokes,
      boost: false,
      createdBy: null,
    });
    draft.event("aspect_created", `The scene now has "${name}"`, { data: { aspectId: aspect.id } });
    return draft.decision("world_event");
  }
  const ref = command.id ?? command.name;
  if (ref === undefined) return reject("invalid_action", "name the aspect to remove by its id or its name");
  const aspect = findSceneAspect(state, ref);
  if (!aspect) return reject("unknown_aspect", `the scene has no aspect "${ref}"`);
  draft.unset(pointer("scene", "aspects", aspect.id), aspect);
  draft.event("aspect_removed", `"${aspect.name}" no longer holds`, { data: { aspectId: aspect.id } });
  return draft.decision("world_event");
}

/** A milestone for a character; a major one raises refresh by one (Fate Core p. 258). */
export function decideMilestone(
  state: UniverseState,
  command: MilestoneCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "award milestones");
  if (denied) return denied;
  const character = own(state.characters, command.characterId);
  if (!character)
    return reject("unknown_character", `no character "${command.characterId}" in this universe`);
  const draft = new Draft(state, ctx);
  if (command.level === "major")
    draft.increment(pointer("characters", character.id, "refresh"), 1, character.refresh);
  const note = command.note === "" ? "" : `: ${command.note}`;
  draft.event("milestone", `${character.name} reaches a ${command.level} milestone${note}`, {
    major: command.level !== "minor",
    data: { characterId: character.id, level: command.level },
  });
  draft.fact("character", { characterId: character.id, milestone: command.level, note: command.note });
  return draft.decision("world_event");
}
