import type { ActionCommand } from "../command.ts";
import { planInvokes } from "../fate/invoke.ts";
import { resolveRoll, type Opposition } from "../fate/roll.ts";
import { bestSkill, opposingSkills, skillRating } from "../fate/skills.ts";
import { isRejection, reject, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import { applyEffects, conceals } from "./action-effects.ts";
import type { DecideContext, Decision } from "./context.ts";
import { describeRoll } from "./describe.ts";
import { Draft } from "./draft.ts";
import { actingCharacter } from "./lookup.ts";
import { resolveTarget, targetName, type ResolvedTarget } from "./target.ts";
import { npcPath } from "../world-records.ts";

/** Passive opposition when none is given and nobody opposes: Fair (+2), Fate Core's "Setting Difficulties". */
export const DEFAULT_DIFFICULTY = 2;

function oppositionFor(command: ActionCommand, target: ResolvedTarget, skill: string): Opposition {
  if (command.opposition !== undefined) return { kind: "passive", value: command.opposition };
  if (target.type === "character" || target.type === "npc") {
    const skills = target.type === "character" ? target.character.skills : target.npc.skills;
    return { kind: "active", rating: bestSkill(skills, opposingSkills(command.action, skill)).rating };
  }
  return { kind: "passive", value: DEFAULT_DIFFICULTY };
}

/** The four actions (Fate Core pp. 130–143), rolled with the turn's dice. */
export function decideAction(
  state: UniverseState,
  command: ActionCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const character = actingCharacter(state, command.characterId, ctx.actor);
  if (isRejection(character)) return character;
  if (command.hidden && ctx.actor.kind === "player")
    return reject("not_allowed", "only a game master may roll in secret");
  const target = resolveTarget(state, command, character);
  if (isRejection(target)) return target;
  const { skill, rating } = skillRating(character.skills, command.skill);
  const plan = planInvokes(
    state,
    character,
    target.type === "character" ? target.character : null,
    command.invokes,
  );
  if (isRejection(plan)) return plan;

  const resolution = resolveRoll(
    {
      action: command.action,
      skill,
      rating,
      opposition: oppositionFor(command, target, skill),
      invokeBonus: plan.bonus,
      rerolls: plan.rerolls,
      hidden: command.hidden,
    },
    ctx.random,
  );
  const draft = new Draft(state, ctx);
  draft.adopt(plan.deltas);
  if (plan.names.length > 0) {
    draft.event("invoke", `${character.name} invokes ${plan.names.map((name) => `"${name}"`).join(", ")}`, {
      hidden: command.hidden,
      data: { aspects: plan.names, fatePoints: plan.fatePoints },
    });
  }
  const subject = { target: targetName(target), words: command.description ?? "" };
  draft.event("roll", describeRoll(character.name, resolution, subject), {
    hidden: command.hidden,
    data: {
      characterId: character.id,
      action: command.action,
      outcome: resolution.outcome,
      shifts: resolution.shifts,
    },
  });
  applyEffects(draft, character, command, target, resolution);
  // when the table last saw the NPC: not at a roll hidden from it
  if (target.type === "npc" && !conceals(command)) {
    draft.change(npcPath(target.npc.id, "lastSeenPosition"), ctx.position, target.npc.lastSeenPosition);
  }
  const combat = command.action === "attack" || command.action === "defend" || state.mode === "conflict";
  return draft.decision(combat ? "combat" : "action", resolution);
}
