import type { ActionCommand, Target } from "../command.ts";
import { reject, type Rejection } from "../rejection.ts";
import type { Aspect, Character, UniverseState } from "../state.ts";
import type { Combatant } from "./harm.ts";
import { isOut, own } from "./lookup.ts";
import { readNpc } from "../world-records.ts";

/** What an action is aimed at, resolved against the state. */
export type ResolvedTarget =
  Combatant | { type: "aspect"; aspect: Aspect } | { type: "scene" } | { type: "none" };

/** The target of an action, or why it cannot be aimed at. */
export function resolveTarget(
  state: UniverseState,
  command: ActionCommand,
  actor: Character,
): ResolvedTarget | Rejection {
  const target: Target | undefined = command.target;
  let resolved: ResolvedTarget;
  if (!target) resolved = { type: "none" };
  else if (target.type === "scene") resolved = { type: "scene" };
  else if (target.type === "aspect") {
    const aspect = own(state.scene.aspects, target.id);
    if (!aspect) return reject("unknown_target", `no aspect "${target.id}" in this scene`);
    resolved = { type: "aspect", aspect };
  } else if (target.type === "character") {
    const character = own(state.characters, target.id);
    if (!character) return reject("unknown_target", `no character "${target.id}" in this universe`);
    resolved = { type: "character", character };
  } else {
    const npc = readNpc(state, target.id);
    if (!npc) return reject("unknown_target", `no NPC "${target.id}" in this universe`);
    resolved = { type: "npc", npc };
  }
  if (command.action === "attack") {
    if (resolved.type !== "character" && resolved.type !== "npc") {
      return reject("invalid_action", "an attack needs a character or an NPC to attack");
    }
    if (resolved.type === "character" && resolved.character.id === actor.id) {
      return reject("invalid_action", `${actor.name} cannot attack themself`);
    }
    const out = resolved.type === "character" ? isOut(resolved.character) : resolved.npc.takenOut;
    const name = resolved.type === "character" ? resolved.character.name : resolved.npc.name;
    if (out) return reject("taken_out", `${name} is already out of the fight`);
  }
  return resolved;
}

export function targetName(target: ResolvedTarget): string | null {
  switch (target.type) {
    case "character":
      return target.character.name;
    case "npc":
      return target.npc.name;
    case "aspect":
      return `"${target.aspect.name}"`;
    case "scene":
      return "the scene";
    case "none":
      return null;
  }
}
