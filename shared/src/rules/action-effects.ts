import type { ActionCommand } from "../command.ts";
import { reject, RejectionCode, type Rejection } from "../rejection.ts";
import { stressTrackFor } from "../fate/skills.ts";
import type { Aspect, Character, UniverseState } from "../state.ts";
import type { Resolution } from "../turn.ts";
import { addBoost, addFreeInvokes, addSceneAspect } from "./aspects.ts";
import { nameFromWords } from "../plain-text.ts";
import { JSON_VALUE_LIMITS, jsonValueProblem } from "../json-value.ts";
import { changeAttitude, attitudeOf, friendlier } from "./attitude.ts";
import type { Draft } from "./draft.ts";
import { applyHarm, combatantName } from "./harm.ts";
import type { ResolvedTarget } from "./target.ts";

/** Rapport wins people over: succeeding with it against an NPC makes them one step friendlier. */
const WINS_OVER = "rapport";

/** Overcome (Fate Core p. 132): with style, the goal is met and a boost is gained. */
function overcome(draft: Draft, character: Character, resolution: Resolution, concealed: boolean): void {
  if (resolution.outcome === "success_with_style" && !concealed)
    addBoost(draft, `${character.name}'s Momentum`, character.id);
}

/**
 * Create an advantage (Fate Core p. 136). On a new aspect: a failure creates nothing (the rule's
 * alternative, the aspect with a free invoke for the opposition, is left out for simplicity), a
 * tie gives a boost, a success the aspect with one free invoke, with style two. On an aspect
 * already in the scene: a tie or success adds one free invoke, with style two. Naming an aspect
 * the scene already has (not a boost; case and spacing aside) is creating an advantage on it: the
 * scene keeps one "Fog Cover", with the free invokes of everyone who worked it.
 */
function createAdvantage(
  draft: Draft,
  character: Character,
  command: ActionCommand,
  target: ResolvedTarget,
  resolution: Resolution,
): void {
  const { outcome } = resolution;
  if (outcome === "fail") return;
  const invokes = outcome === "success_with_style" ? 2 : 1;
  const name = givenAspectName(command) || `${character.name}'s ${resolution.skill} Edge`;
  const existing = target.type === "aspect" ? target.aspect : sceneAspectNamed(draft.state, name);
  if (existing) {
    addFreeInvokes(draft, existing, invokes);
    draft.event("free_invokes", `"${existing.name}" gains ${invokes} free invoke${invokes > 1 ? "s" : ""}`, {
      data: { aspectId: existing.id, freeInvokes: invokes },
    });
    return;
  }
  if (outcome === "tie") {
    const boost = addBoost(draft, name, character.id);
    draft.event("boost", `${character.name} gains the boost "${name}"`, { data: { aspectId: boost.id } });
    return;
  }
  const aspect = addSceneAspect(draft, name, { freeInvokes: invokes, boost: false, createdBy: character.id });
  draft.event(
    "aspect_created",
    `${character.name} creates "${name}" with ${invokes} free invoke${invokes > 1 ? "s" : ""}`,
    {
      major: outcome === "success_with_style",
      data: { aspectId: aspect.id, freeInvokes: invokes },
    },
  );
}

/**
 * Attack (Fate Core p. 140): a tie gives the attacker a boost; a success deals the shifts as
 * stress (with style, the option to trade a shift for a boost is not offered). A conflict begins
 * with the first attack of a scene; it ends, simplified, when someone is taken out.
 */
function attack(
  draft: Draft,
  state: UniverseState,
  character: Character,
  target: ResolvedTarget,
  resolution: Resolution,
  concealed: boolean,
): void {
  if (target.type !== "character" && target.type !== "npc") return;
  const name = combatantName(target);
  if (state.mode !== "conflict")
    draft.event("conflict_started", `${character.name} starts a fight with ${name}`);
  if (target.type === "npc" && !concealed) changeAttitude(draft, target.npc, character, "hostile");
  let takenOut = false;
  if (resolution.outcome === "tie" && !concealed) addBoost(draft, `Opening on ${name}`, character.id);
  else if (resolution.shifts > 0)
    takenOut = applyHarm(draft, target, resolution.shifts, stressTrackFor(resolution.skill));
  if (takenOut) {
    const description = `${character.name} takes ${name} out`;
    const targetId = target.type === "character" ? target.character.id : target.npc.id;
    draft.event("taken_out", description, { major: true, data: { characterId: character.id, targetId } });
    if (!concealed) draft.majorEvent(character.id, description);
    draft.event("conflict_ended", `The fight ends with ${name} taken out`);
  }
  draft.change("/mode", takenOut ? "scene" : "conflict", state.mode);
}

/**
 * What a roll does to the scene and the people in it. The state is everyone's to read (state.ts),
 * so a concealed roll (a game master's hidden one) leaves there only what it must: the harm it deals
 * and the conflict it starts. It gains no boost (an aspect on the scene, named after the roll's
 * outcome), writes no major event (its words are the hidden turn's), changes no attitude (the
 * NPC's record and a canon fact would say who acted on whom). What it tried stays on its turn,
 * which only game masters read whole.
 */
export function applyEffects(
  draft: Draft,
  character: Character,
  command: ActionCommand,
  target: ResolvedTarget,
  resolution: Resolution,
): void {
  const concealed = conceals(command);
  switch (resolution.action) {
    case "overcome":
      overcome(draft, character, resolution, concealed);
      break;
    case "create_advantage":
      createAdvantage(draft, character, command, target, resolution);
      break;
    case "attack":
      attack(draft, draft.state, character, target, resolution, concealed);
      break;
    case "defend":
      // Defend (Fate Core p. 142): succeeding with style earns a boost.
      if (resolution.outcome === "success_with_style" && !concealed)
        addBoost(draft, `${character.name}'s Counter`, character.id);
      break;
  }
  const socialWin = resolution.skill.toLowerCase() === WINS_OVER && resolution.shifts > 0;
  if (target.type === "npc" && resolution.action !== "attack" && socialWin && !concealed) {
    changeAttitude(draft, target.npc, character, friendlier(attitudeOf(target.npc, character.id)));
  }
}

/** The name a create-advantage gives the aspect it makes: its `aspectName`, else its description. */
function givenAspectName(command: ActionCommand): string {
  return command.aspectName ?? nameFromWords(command.description, 200);
}

/**
 * A hidden roll whose cost or gain the table would read: the table sees only that a hidden roll
 * happened (visibility.ts), but the scene and the sheets are everyone's. An invoke spends a fate
 * point on a sheet, or a free invoke or a boost on the scene, and so names the aspect invoked. A
 * create-advantage puts its aspect or boost on the scene, whose name would tell the roll's words,
 * or adds free invokes to one already there, whose count would tell the outcome (none on a fail,
 * two with style). Checked as a command is submitted, before the roll, not by the rules: a command
 * recorded before the check still decides, and replays, as it did.
 */
export function hiddenRollRefusal(command: { kind: string }): Rejection | null {
  const action = command as ActionCommand;
  if (command.kind !== "action" || !action.hidden) return null;
  if (action.invokes.length > 0)
    return reject(
      RejectionCode.NotAllowed,
      "a hidden roll cannot invoke an aspect: the fate point or free invoke it spends shows on the sheet or the scene, which everyone reads; roll it in the open",
    );
  if (action.action !== "create_advantage") return null;
  return reject(
    RejectionCode.NotAllowed,
    "a hidden roll cannot create an advantage: the aspect or free invokes it earns show on the scene, which everyone reads, and would tell how it went; roll it in the open",
  );
}

/**
 * Whether a roll's effects on the world everyone reads are concealed (see applyEffects): a hidden
 * roll's, once the server marks it so; one recorded before re-executes with the effects it had.
 */
export function conceals(command: ActionCommand): boolean {
  return command.hidden && command.concealed === true;
}

/** Whether a scene has no room for one more aspect, by scene object. */
const measuredScenes = new WeakMap<object, boolean>();

/** What a new aspect adds to the scene's count of members (its entry and its six fields), and a spare. */
const ASPECT_NODES = 8;
const SCENE_ROOM = { ...JSON_VALUE_LIMITS, nodesMax: JSON_VALUE_LIMITS.nodesMax - ASPECT_NODES };

/**
 * Refuses a roll in a scene too full to take the aspect or boost it may earn. Checked before the
 * roll, like the hidden advantage: a refusal after it would tell the player that the dice at this
 * position are good (only a tie or better earns an aspect), and he would play his real roll next.
 */
export function fullSceneRefusal(state: UniverseState, command: { kind: string }): Rejection | null {
  if (command.kind !== "action") return null;
  // a turn that changes the scene makes a new object of it (evolve copies what it changes): most
  // rolls meet a scene already measured
  let full = measuredScenes.get(state.scene);
  if (full === undefined) {
    full = jsonValueProblem(state.scene, SCENE_ROOM) !== null;
    measuredScenes.set(state.scene, full);
  }
  if (!full) return null;
  return reject(
    RejectionCode.InvalidValue,
    "the scene holds as much as a turn can record, and a roll may add to it: a game master opens a new scene",
  );
}

/** The scene's aspect (not a boost) of this name, case and surrounding spaces aside. */
function sceneAspectNamed(state: UniverseState, name: string): Aspect | undefined {
  const wanted = name.trim().toLowerCase();
  return Object.values(state.scene.aspects).find(
    (aspect) => !aspect.boost && aspect.name.trim().toLowerCase() === wanted,
  );
}
