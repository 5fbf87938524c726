import type { Command } from "../command.ts";
import { isRejection, type Rejection } from "../rejection.ts";
import type { UniverseState } from "../state.ts";
import { recordCanonOf } from "./canon.ts";
import type { DecideContext, Decision } from "./context.ts";
import { Draft } from "./draft.ts";
import { recordGmDeltas } from "./gm-deltas.ts";
import { requireGm } from "./lookup.ts";

type WorldEventCommand = Extract<Command, { kind: "world_event" }>;

/**
 * A game master's world event: words for the narrator, and optionally deltas that change the world
 * directly. Canon follows the deltas (locations, attitudes, quests); a major event becomes canon
 * and joins the world's major events that recaps read.
 */
export function decideWorldEvent(
  state: UniverseState,
  command: WorldEventCommand,
  ctx: DecideContext,
): Decision | Rejection {
  const denied = requireGm(ctx.actor, "post world events");
  if (denied) return denied;
  const recorded = recordGmDeltas(state, command.deltas);
  if (isRejection(recorded)) return recorded;
  const draft = new Draft(recorded.state, ctx);
  draft.lead(recorded.deltas);
  draft.event("world_event", command.text, {
    major: command.major,
    data: { deltas: recorded.deltas.length },
  });
  if (command.major) {
    draft.fact("world_event", { text: command.text });
    draft.majorEvent(null, command.text);
  }
  recordCanonOf(draft, recorded.state, recorded.deltas);
  return draft.decision("world_event");
}
