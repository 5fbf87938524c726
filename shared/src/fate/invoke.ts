import type { Command, Invoke } from "../command.ts";
import { pointer, type Delta } from "../delta.ts";
import { reject, RejectionCode, type Rejection } from "../rejection.ts";
import type { Actor } from "../rules/context.ts";
import type { SystemCommand } from "../system-command.ts";
import type { Aspect, Character, ConsequenceSeverity, UniverseState } from "../state.ts";
import { findCharacterAspect, findSceneAspect, own, sameText } from "../rules/lookup.ts";

/** Each bonus invoke adds +2 to the roll (Fate Core p. 68). */
export const INVOKE_BONUS = 2;

export interface InvokePlan {
  bonus: number;
  rerolls: number;
  fatePoints: number;
  /** Paying for the invokes: fate points spent, free invokes used, boosts that vanish. */
  deltas: Delta[];
  /** The aspects invoked, by name, for the turn's events. */
  names: string[];
}

type Source =
  | { kind: "scene"; aspect: Aspect }
  | { kind: "sheet"; name: string }
  | { kind: "consequence"; character: Character; severity: ConsequenceSeverity; name: string };

const SEVERITIES: readonly ConsequenceSeverity[] = ["mild", "moderate", "severe"];

/**
 * Where an invoked aspect lives: the scene (by id or name), the actor's sheet, or the target
 * character's sheet and consequences (a hostile invoke, Fate Core p. 69).
 */
function findSource(
  state: UniverseState,
  actor: Character,
  target: Character | null,
  ref: string,
): Source | null {
  const scene = findSceneAspect(state, ref);
  if (scene) return { kind: "scene", aspect: scene };
  const mine = findCharacterAspect(actor, ref);
  if (mine !== undefined) return { kind: "sheet", name: mine };
  if (!target) return null;
  for (const severity of SEVERITIES) {
    const consequence = target.consequences[severity];
    if (consequence && sameText(consequence.aspect, ref)) {
      return { kind: "consequence", character: target, severity, name: consequence.aspect };
    }
  }
  const theirs = findCharacterAspect(target, ref);
  return theirs === undefined ? null : { kind: "sheet", name: theirs };
}

function sourceKey(source: Source): string {
  if (source.kind === "scene") return `scene:${source.aspect.id}`;
  if (source.kind === "consequence") return `consequence:${source.character.id}:${source.severity}`;
  return `sheet:${source.name}`;
}

function freeInvokesOf(source: Source): number {
  if (source.kind === "scene") return source.aspect.freeInvokes;
  if (source.kind === "consequence") return source.character.consequences[source.severity]!.freeInvokes;
  return 0;
}

/**
 * Checks and prices the invokes declared with an action. Rules (Fate Core pp. 68–69): an invoke
 * costs a fate point or a free invoke; only scene aspects (including boosts) and consequences carry
 * free invokes; several free invokes of one aspect may stack on a roll, but a fate point buys one
 * invoke of a given aspect per roll; a boost is invoked once and then vanishes (p. 58).
 */
export function planInvokes(
  state: UniverseState,
  actor: Character,
  target: Character | null,
  invokes: readonly Invoke[],
): InvokePlan | Rejection {
  const plan: InvokePlan = { bonus: 0, rerolls: 0, fatePoints: 0, deltas: [], names: [] };
  if (invokes.length === 0) return plan;
  const uses = new Map<string, { source: Source; free: number; paid: number }>();
  for (const invoke of invokes) {
    const source = findSource(state, actor, target, invoke.aspect);
    if (!source) return reject("unknown_aspect", `no aspect "${invoke.aspect}" to invoke here`);
    const key = sourceKey(source);
    const use = uses.get(key) ?? { source, free: 0, paid: 0 };
    uses.set(key, use);
    const name = source.kind === "scene" ? source.aspect.name : source.name;
    if (invoke.payment === "fate_point") {
      if (use.paid > 0)
        return reject("invalid_action", `"${name}" can be invoked for a fate point only once per roll`);
      use.paid += 1;
      plan.fatePoints += 1;
    } else {
      if (use.free + 1 > freeInvokesOf(source))
        return reject("no_free_invoke", `"${name}" has no free invoke left`);
      use.free += 1;
    }
    if (source.kind === "scene" && source.aspect.boost && use.free + use.paid > 1) {
      return reject("no_free_invoke", `the boost "${name}" can be invoked only once`);
    }
    if (invoke.effect === "bonus") plan.bonus += INVOKE_BONUS;
    else plan.rerolls += 1;
    plan.names.push(name);
  }
  if (plan.fatePoints > actor.fatePoints) {
    return reject(
      "no_fate_points",
      `${actor.name} has ${actor.fatePoints} fate points, needs ${plan.fatePoints}`,
    );
  }
  if (plan.fatePoints > 0) {
    plan.deltas.push({
      op: "increment",
      path: pointer("characters", actor.id, "fatePoints"),
      value: -plan.fatePoints,
      prev: actor.fatePoints,
    });
  }
  for (const { source, free } of uses.values()) {
    if (source.kind === "scene") {
      const path = pointer("scene", "aspects", source.aspect.id);
      if (source.aspect.boost) plan.deltas.push({ op: "unset", path, prev: source.aspect });
      else if (free > 0) {
        plan.deltas.push({
          op: "increment",
          path: `${path}/freeInvokes`,
          value: -free,
          prev: source.aspect.freeInvokes,
        });
      }
    } else if (source.kind === "consequence" && free > 0) {
      plan.deltas.push({
        op: "increment",
        path: pointer("characters", source.character.id, "consequences", source.severity, "freeInvokes"),
        value: -free,
        prev: freeInvokesOf(source),
      });
    }
  }
  return plan;
}

/**
 * A player spends only the free invokes their own character earned (Fate Core p. 68: they belong
 * to whoever created the advantage, who may pass them on, but an ally does not take them). A
 * scene aspect or boost records the character that created it; one a game master placed
 * (`createdBy` null) is anyone's. A consequence does not record who inflicted it, so its free
 * invokes stay open to whoever invokes it. A game master spends any. Checked as a command is
 * submitted, not by the rules: a turn recorded before the check still decides, and replays, as it did.
 */
export function freeInvokeRefusal(
  state: UniverseState,
  actor: Actor,
  command: Command | SystemCommand,
): Rejection | null {
  if (actor.kind !== "player" || command.kind !== "action") return null;
  for (const invoke of command.invokes) {
    if (invoke.payment !== "free_invoke") continue;
    const aspect = findSceneAspect(state, invoke.aspect);
    if (!aspect || aspect.createdBy === null || aspect.createdBy === command.characterId) continue;
    const earner = own(state.characters, aspect.createdBy)?.name ?? "another character";
    return reject(
      RejectionCode.NotYourFreeInvoke,
      `the free invokes of "${aspect.name}" are ${earner}'s to spend; invoke it for a fate point instead`,
    );
  }
  return null;
}
