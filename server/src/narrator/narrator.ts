import type { Narration, Turn, UniverseState, Viewer } from "@loom/shared";

/** Who a turn's prose is told to: the whole table, or game masters alone (hidden rolls). */
export type Audience = "table" | "gm";

/** One turn to narrate, with what a narrator may use to do it. */
export interface NarrationRequest {
  turn: Turn;
  /** The state after the turn. */
  state: UniverseState;
  /** The turns before it, oldest first. */
  previous: readonly Turn[];
  /** The viewer whose view of the universe the prose may draw on (see buildNarrationPrompt). */
  viewer: Viewer;
  seed: number;
  /** Aborted when the universe closes here or the attempt runs out of time. */
  signal: AbortSignal;
  /** Each piece of prose as it is produced, in order. */
  onChunk(chunk: string): void;
  /**
   * Called as the narrator asks its model, with what the record of the telling names of the
   * request: a telling cut short after the table heard part of it is recorded with them.
   */
  onAsk?(audit: NarratorAudit): void;
}

/** What a telling's record names of the request behind it. */
export type NarratorAudit = Pick<NarratorOutput, "model" | "promptHash" | "endpoint" | "parameters">;

/** What a narrator produced: the record's fields that depend on the narrator. */
export type NarratorOutput = Pick<Narration, "text" | "model" | "promptHash" | "tokens"> &
  Required<Pick<Narration, "endpoint" | "parameters">>;

/**
 * The Narrator port: a resolved turn in, prose out, streamed as it comes. Adapters: the template
 * (embedded, deterministic) and any OpenAI-compatible chat-completions endpoint.
 */
export interface Narrator {
  /** Recorded as `narrator` on every narration it produces. */
  readonly name: string;
  narrate(request: NarrationRequest): Promise<NarratorOutput>;
  /**
   * Tells at once, for a narrator that needs no I/O (the template), from the turn, the state after
   * it and the seed (not `previous`): a turn is then told as it is made and carries its prose in
   * its own write and message (UniverseNarration.tellAtOnce). A turn told later (one a previous
   * owner left untold) has nothing awaited between the telling and its `done` message.
   */
  tellNow?(request: NarrationRequest): NarratorOutput;
  /** Releases what the narrator holds (a thread, connections); called once, at shutdown. */
  close?(): Promise<void>;
}

/** The narrator did not deliver: it timed out, failed, or its universe closed here. */
export class NarratorError extends Error {
  constructor(
    message: string,
    readonly reason: "timeout" | "error" | "aborted",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NarratorError";
  }
}
