import type { Narration } from "@loom/shared";

/** A template narration record of `text`, as a test stores it with `setNarration`. */
export const templateNarration = (text: string): Narration => ({
  text,
  narrator: "template",
  model: null,
  seed: 1,
  promptHash: null,
  tokens: null,
});
