import { loadConfig, type NarratorConfig } from "../../server/src/config.ts";

/** A server's narrator config for a test's local chat-completions endpoint (model "story-7b", no retries). */
export function openaiNarrator(url: string, overrides: Partial<NarratorConfig> = {}): NarratorConfig {
  return {
    ...loadConfig({}).narrator,
    kind: "openai-compatible",
    url,
    model: "story-7b",
    apiKey: null,
    timeoutMs: 2_000,
    retries: 0,
    ...overrides,
  };
}
