import OpenAI from "openai";
import { buildNarrationPrompt } from "@loom/shared";
import { NarratorError, type NarrationRequest, type Narrator, type NarratorOutput } from "./narrator.ts";

export interface OpenAiNarratorOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:11434/v1` for Ollama. */
  url: string;
  model: string;
  apiKey: string | null;
  /** The most one attempt may take, from the request to the last chunk. */
  timeoutMs: number;
  /** Further attempts after a failure before any prose arrived. */
  retries: number;
  /** The first retry waits this long; each next one twice as long. */
  backoffMs: number;
  maxTokens: number;
  temperature: number;
  promptBudget: number;
}

/**
 * A narrator behind any endpoint that speaks OpenAI's chat-completions protocol (OpenAI, Ollama,
 * llama.cpp's server, vLLM, LM Studio), streamed. A failure before the first chunk is retried
 * with backoff; once prose has reached the table it is not asked again (the table would read it
 * twice), and the caller falls back to the template instead.
 */
export class OpenAiNarrator implements Narrator {
  readonly name = "openai-compatible";
  private readonly client: OpenAI;
  private readonly host: string;

  constructor(private readonly options: OpenAiNarratorOptions) {
    this.host = new URL(options.url).host;
    this.client = new OpenAI({
      baseURL: options.url,
      // local servers (Ollama, llama.cpp) take no key, but the SDK insists on one
      apiKey: options.apiKey ?? "none",
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  async narrate(request: NarrationRequest): Promise<NarratorOutput> {
    const prompt = buildNarrationPrompt({
      state: request.state,
      turn: request.turn,
      previous: request.previous,
      audience: request.viewer,
      budgetTokens: this.options.promptBudget,
    });
    const parameters = {
      temperature: this.options.temperature,
      max_tokens: this.options.maxTokens,
      seed: request.seed,
    };
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) await sleep(this.options.backoffMs * 2 ** (attempt - 1), request.signal);
      if (request.signal.aborted) throw new NarratorError("the universe closed", "aborted");
      const streamed = { any: false };
      try {
        const result = await this.attempt(request, prompt, parameters, streamed);
        return {
          ...result,
          promptHash: prompt.hash,
          endpoint: this.host,
          parameters: { ...parameters, model: this.options.model },
        };
      } catch (error) {
        lastError = error;
        if (request.signal.aborted)
          throw new NarratorError("the universe closed", "aborted", { cause: error });
        if (streamed.any) break;
      }
    }
    const timedOut =
      lastError instanceof OpenAI.APIConnectionTimeoutError ||
      (lastError instanceof NarratorError && lastError.reason === "timeout");
    throw new NarratorError(
      `${this.host}: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
      timedOut ? "timeout" : "error",
      { cause: lastError },
    );
  }

  private async attempt(
    request: NarrationRequest,
    prompt: { system: string; user: string },
    parameters: { temperature: number; max_tokens: number; seed: number },
    streamed: { any: boolean },
  ): Promise<Pick<NarratorOutput, "text" | "model" | "tokens">> {
    // the SDK's timeout covers the response headers; this one covers the whole stream too
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const signal = AbortSignal.any([request.signal, deadline]);
    try {
      return await this.stream(request, prompt, parameters, streamed, signal);
    } catch (error) {
      if (deadline.aborted && !request.signal.aborted)
        throw new NarratorError(`no complete answer within ${this.options.timeoutMs} ms`, "timeout", {
          cause: error,
        });
      throw error;
    }
  }

  private async stream(
    request: NarrationRequest,
    prompt: { system: string; user: string },
    parameters: { temperature: number; max_tokens: number; seed: number },
    streamed: { any: boolean },
    signal: AbortSignal,
  ): Promise<Pick<NarratorOutput, "text" | "model" | "tokens">> {
    const stream = await this.client.chat.completions.create(
      {
        model: this.options.model,
        messages: [
          { role: "system", content: prompt.system },
          { role: "user", content: prompt.user },
        ],
        stream: true,
        stream_options: { include_usage: true },
        ...parameters,
      },
      { signal },
    );
    let text = "";
    let model: string | null = null;
    let tokens: NarratorOutput["tokens"] = null;
    for await (const chunk of stream) {
      model ??= chunk.model || null;
      if (chunk.usage)
        tokens = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
      const piece = chunk.choices[0]?.delta?.content;
      if (!piece) continue;
      text += piece;
      streamed.any = true;
      request.onChunk(piece);
    }
    // an aborted stream may simply end: what it gave so far is not the whole answer
    if (signal.aborted) throw new NarratorError("the stream was cut short", "aborted");
    if (text.trim() === "") throw new NarratorError("the endpoint answered with no prose", "error");
    return { text: text.trim(), model: model ?? this.options.model, tokens };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener("abort", wake, { once: true });
  });
}
