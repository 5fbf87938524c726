import { buildNarrationPrompt, isStorableText, storableText } from "@loom/shared";
import { NarratorError, type NarrationRequest, type Narrator, type NarratorOutput } from "./narrator.ts";
import { CHAT_THREAD_NICE } from "../config.ts";
import { ChatFailure, ChatThread, type ChatPriority } from "./chat-thread.ts";

export interface OpenAiNarratorOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:11434/v1` for Ollama. */
  url: string;
  model: string;
  apiKey: string | null;
  /**
   * The most one telling may take, from being asked to its last chunk, attempts and backoffs
   * included; and how long an endpoint that ran out of it, or could not be reached, is left alone.
   */
  timeoutMs: number;
  /** Further attempts after a failure before any prose arrived, within the telling's time. */
  retries: number;
  /** The first retry waits this long; each next one twice as long. */
  backoffMs: number;
  maxTokens: number;
  temperature: number;
  promptBudget: number;
  /** The chat thread's niceness (see ChatEndpoint); CHAT_THREAD_NICE by default. */
  threadNice?: number;
}

/**
 * The most characters a telling keeps, for a request of `maxTokens`: a token is a few characters of
 * prose, so an endpoint that streams past this has ignored `max_tokens`, and what it sends after
 * would reach every member of the table and the turn's record.
 */
export function tellingCharBound(maxTokens: number): number {
  return maxTokens * 12;
}

/** An endpoint left alone: when it may be asked again, why, and whether a telling is asking it now. */
interface Resting {
  until: number;
  reason: "timeout" | "error";
  why: string;
  probing: boolean;
}

/**
 * A narrator behind any endpoint that speaks OpenAI's chat-completions protocol (OpenAI, Ollama,
 * llama.cpp's server, vLLM, LM Studio), streamed. A failure before the first chunk is retried
 * with backoff; once prose has reached the table it is not asked again (the table would read it
 * twice), and the caller falls back to the template instead. A telling's attempts and backoffs
 * share its one `timeoutMs`.
 *
 * An endpoint that lets a telling run out of time, or cannot be reached, is left alone for
 * `timeoutMs`: the tellings asked meanwhile fail at once (the caller's template tells them), so
 * that a burst of turns against an endpoint that is down gets its prose within one telling's time
 * rather than each waiting in line for its own timeout. Then one telling asks it again, the others
 * still failing at once while it does; an answer ends the rest.
 *
 * The requests themselves run on a thread of their own (chat-thread.ts): at a turn every few
 * milliseconds, the SDK's HTTP and stream parsing would otherwise take a good share of the
 * thread that acknowledges turns. The prompt is built here, from the state at hand.
 */
/** The longest an endpoint's Retry-After leaves it alone: one asking for a day is asked again sooner. */
const MOST_ASKED_REST_MS = 10 * 60_000;

export class OpenAiNarrator implements Narrator {
  readonly name = "openai-compatible";
  private readonly chat: ChatThread;
  private readonly host: string;
  private resting: Resting | null = null;

  constructor(private readonly options: OpenAiNarratorOptions) {
    this.host = new URL(options.url).host;
    this.chat = new ChatThread({
      url: options.url,
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs,
      nice: options.threadNice ?? CHAT_THREAD_NICE,
    });
    void this.chat.warm();
  }

  /** Resolves once the chat thread has loaded and requests start at once. */
  ready(): Promise<void> {
    return this.chat.warm();
  }

  /** The chat thread's thread id and niceness, once it has loaded. */
  get threadPriority(): ChatPriority | null {
    return this.chat.priority;
  }

  /** Stops the chat thread (narrations in flight fail, and the template tells them). */
  close(): Promise<void> {
    return this.chat.close();
  }

  async narrate(request: NarrationRequest): Promise<NarratorOutput> {
    const deadline = Date.now() + this.options.timeoutMs;
    const resting = this.resting;
    const probe = this.admit(resting);
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
    const audit = {
      model: this.options.model,
      promptHash: prompt.hash,
      endpoint: this.host,
      parameters: { ...parameters, model: this.options.model },
    };
    request.onAsk?.(audit);
    let lastError: unknown;
    const streamed = { any: false };
    try {
      for (let attempt = 0; attempt <= this.options.retries; attempt++) {
        if (attempt > 0) {
          const backoff = this.options.backoffMs * 2 ** (attempt - 1);
          const asked = lastError instanceof ChatFailure ? (lastError.retryAfterMs ?? 0) : 0;
          const wait = Math.max(backoff, asked);
          // no attempt, nor a wait for one, past the telling's time (an endpoint asking to be left
          // alone longer than that included): the template tells the turn at once
          if (Date.now() + wait >= deadline) break;
          await sleep(wait, request.signal);
        }
        if (request.signal.aborted) throw new NarratorError("the universe closed", "aborted");
        try {
          const result = await this.attempt(request, prompt, parameters, streamed, deadline);
          this.resting = null;
          return {
            ...result,
            promptHash: audit.promptHash,
            endpoint: audit.endpoint,
            parameters: audit.parameters,
          };
        } catch (error) {
          lastError = error;
          if (request.signal.aborted)
            throw new NarratorError("the universe closed", "aborted", { cause: error });
          if (streamed.any) break;
        }
      }
    } finally {
      // a probe that ended without a verdict (its universe closed) leaves the next telling to ask
      if (probe && this.resting === resting && resting) resting.probing = false;
    }
    const timedOut =
      (lastError instanceof ChatFailure && lastError.cut === "timeout") ||
      (lastError instanceof NarratorError && lastError.reason === "timeout");
    const unreachable = lastError instanceof ChatFailure && lastError.cut === null && lastError.unreachable;
    const message = `${this.host}: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
    const reason = timedOut ? "timeout" : "error";
    // an endpoint that answered, if only with an error, is asked again at the next telling, unless
    // it said when (a 429's or 503's Retry-After): every turn meanwhile would only be refused again
    const askedToWait = lastError instanceof ChatFailure ? (lastError.retryAfterMs ?? 0) : 0;
    this.resting =
      timedOut || unreachable
        ? {
            until: Date.now() + this.options.timeoutMs,
            reason,
            why: timedOut ? "ran out of time" : "could not be reached",
            probing: false,
          }
        : askedToWait > 0
          ? {
              until: Date.now() + Math.min(askedToWait, MOST_ASKED_REST_MS),
              reason,
              why: "asked to be left alone (Retry-After)",
              probing: false,
            }
          : null;
    throw new NarratorError(message, reason, { cause: lastError });
  }

  /**
   * Whether this telling may ask the endpoint, and whether it does so as the one probe of an
   * endpoint left alone: one resting still, or already being asked by another telling, is not.
   */
  private admit(resting: Resting | null): boolean {
    if (resting === null) return false;
    const now = Date.now();
    if (now < resting.until || resting.probing) {
      const again = resting.probing ? "once the telling asking it now ends" : `in ${resting.until - now} ms`;
      throw new NarratorError(
        `${this.host}: not asked: it ${resting.why} on a recent telling, and is asked again ${again}`,
        resting.reason,
      );
    }
    resting.probing = true;
    return true;
  }

  private async attempt(
    request: NarrationRequest,
    prompt: { system: string; user: string },
    parameters: { temperature: number; max_tokens: number; seed: number },
    streamed: { any: boolean },
    deadline: number,
  ): Promise<Pick<NarratorOutput, "text" | "model" | "tokens">> {
    const bound = tellingCharBound(this.options.maxTokens);
    const plain = new PlainProse();
    let told = 0;
    const result = await this.chat.stream(
      { model: this.options.model, system: prompt.system, user: prompt.user, parameters },
      Math.max(1, deadline - Date.now()),
      request.signal,
      (piece) => {
        const part = piece.length > bound - told ? piece.slice(0, bound - told) : piece;
        told += part.length;
        // a surrogate pair split between pieces is whole again in the record
        const said = plain.of(part);
        if (said !== "") {
          streamed.any = true;
          request.onChunk(said);
        }
        // past the bound the endpoint has ignored max_tokens: the stream stops here
        return told < bound;
      },
    );
    const model = modelNamed(result.model) ?? this.options.model;
    const tokens = tokensCounted(result.tokens);
    // An endpoint's answer is input from outside like a client's: what it sends is made storable,
    // and past the bound the stream was stopped here, what was told being the telling.
    if (told >= bound && !request.signal.aborted)
      return { text: storableText(new PlainProse().of(result.text.slice(0, bound))).trim(), model, tokens };
    // a stream cut short may simply end: what it gave so far is not the whole answer
    if (result.cut === "timeout")
      throw new NarratorError(
        `no complete answer within the telling's ${this.options.timeoutMs} ms`,
        "timeout",
      );
    if (result.cut === "aborted") throw new NarratorError("the stream was cut short", "aborted");
    if (result.text.trim() === "") throw new NarratorError("the endpoint answered with no prose", "error");
    return { text: storableText(new PlainProse().of(result.text)).trim(), model, tokens };
  }
}

/** Control characters but line feeds and tabs, line ends of other systems, bidirectional controls. */
const UNPLAIN = /\r\n?|(?![\n\t])\p{Cc}|[\u202A-\u202E\u2066-\u2069]/gu;

/**
 * A model's prose made text a client may write (shared/src/plain-text.ts): it reaches every
 * member's screen, and through exports the operator's terminal, where ESC starts a sequence that
 * clears the screen or colours what follows, a CR or a backspace writes over text, and a
 * bidirectional override makes text read otherwise than it is stored. Each such character
 * becomes U+FFFD, as a NUL does for Postgres; a "\r\n" or a lone "\r" is a line end, "\n".
 * One per telling, given its pieces in order: a "\r\n" split between two pieces is one line end,
 * so the pieces spell what the whole text becomes.
 */
class PlainProse {
  private afterCr = false;

  of(piece: string): string {
    const text = this.afterCr && piece.startsWith("\n") ? piece.slice(1) : piece;
    if (piece !== "") this.afterCr = piece.endsWith("\r");
    return text.replace(UNPLAIN, (found) => (found.startsWith("\r") ? "\n" : "\ufffd"));
  }
}

/** The model an endpoint says answered, when it names one a record can hold; else null. */
function modelNamed(model: unknown): string | null {
  if (typeof model !== "string" || model.trim() === "" || model.length > 200) return null;
  return isStorableText(model) ? model.trim() : null;
}

/** The endpoint's token counts, when both are counts; else null. */
function tokensCounted(tokens: unknown): NarratorOutput["tokens"] {
  if (typeof tokens !== "object" || tokens === null) return null;
  const { prompt, completion } = tokens as Record<string, unknown>;
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return count(prompt) && count(completion) ? { prompt, completion } : null;
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
