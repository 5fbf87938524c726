import { checksum } from "../canonical.ts";
import type { Turn } from "../turn.ts";

export { narrateTemplate } from "./template.ts";
export {
  buildNarrationPrompt,
  estimateTokens,
  DEFAULT_PROMPT_BUDGET,
  type NarrationPrompt,
  type NarrationPromptInput,
} from "./context.ts";

/**
 * The seed of a turn's narration: a 31-bit integer derived from the turn's identity. Not the
 * turn's dice source: that one is secret until the universe reveals it, and prose varied by it
 * would leak bits of every roll to come.
 */
export function narrationSeed(turn: Pick<Turn, "universeId" | "position" | "id">): number {
  const digest = checksum({ universeId: turn.universeId, position: turn.position, id: turn.id });
  return Number.parseInt(digest.slice(0, 8), 16) & 0x7fffffff;
}
