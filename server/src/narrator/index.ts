import type { NarratorConfig } from "../config.ts";
import type { Narrator } from "./narrator.ts";
import { OpenAiNarrator } from "./openai-narrator.ts";
import { TemplateNarrator } from "./template-narrator.ts";

export type { Narrator, NarrationRequest, NarratorOutput, Audience } from "./narrator.ts";
export { NarratorError } from "./narrator.ts";
export { TemplateNarrator } from "./template-narrator.ts";
export { OpenAiNarrator } from "./openai-narrator.ts";
export { UniverseNarration } from "./universe-narration.ts";

/** The configured narrator, or null when narration is off. */
export function createNarrator(config: NarratorConfig): Narrator | null {
  if (config.kind === "off") return null;
  if (config.kind === "template") return new TemplateNarrator();
  return new OpenAiNarrator({
    url: config.url!,
    model: config.model!,
    apiKey: config.apiKey,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    backoffMs: 250,
    maxTokens: config.maxTokens,
    temperature: config.temperature,
    promptBudget: config.promptBudget,
    threadNice: config.threadNice,
  });
}
