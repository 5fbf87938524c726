import { Worker } from "node:worker_threads";
import { log } from "../log.ts";

export interface ChatEndpoint {
  /** The API's base URL, e.g. `http://127.0.0.1:11434/v1` for Ollama. */
  url: string;
  apiKey: string | null;
  timeoutMs: number;
  /**
   * The chat thread's niceness (Linux, 0–19; never above the process's priority): the higher,
   * the more surely the thread that acknowledges turns wins a core they both want.
   */
  nice: number;
}

/** One chat-completions request, streamed. */
export interface ChatRequest {
  model: string;
  system: string;
  user: string;
  parameters: { temperature: number; max_tokens: number; seed: number };
}

export interface ChatResult {
  text: string;
  model: string | null;
  tokens: { prompt: number; completion: number } | null;
}

export type ChatToWorker =
  { type: "stream"; id: number; request: ChatRequest; timeoutMs: number } | { type: "abort"; id: number };

/** Why a stream ended before its endpoint finished: the caller aborted it, or it ran out of time. */
export type ChatCut = "aborted" | "timeout" | null;

/** What one request's stream reports. */
export type ChatEvent =
  | { type: "chunk"; id: number; pieces: string[] }
  | { type: "done"; id: number; result: ChatResult; cut: ChatCut }
  | {
      type: "failed";
      id: number;
      message: string;
      cut: ChatCut;
      retryAfterMs?: number | null;
      unreachable?: boolean;
    };

/** The chat thread's operating-system thread and niceness; `failure` when it could not be lowered. */
export interface ChatPriority {
  thread: number | null;
  nice: number | null;
  failure: string | null;
}

/** The chat thread's events leave in one message per turn of its event loop, in order. */
export type ChatFromWorker = ({ type: "ready" } & ChatPriority) | { type: "batch"; messages: ChatEvent[] };

/** A chat thread that could not lower its priority says so once per process, not once per narrator. */
let toldPriority = false;

/** A request the chat thread could not complete, and whether it was cut short. */
export class ChatFailure extends Error {
  constructor(
    message: string,
    readonly cut: ChatCut,
    /** How long the endpoint asked to be left alone (its Retry-After), when it said. */
    readonly retryAfterMs: number | null = null,
    /** The endpoint gave no answer at all (refused, reset, a name that does not resolve). */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = "ChatFailure";
  }
}

interface InFlight {
  signal: AbortSignal;
  /** `false` asks the thread to stop the stream: no piece after it is delivered. */
  onChunk(piece: string): boolean | void;
  stopped?: true;
  resolve(result: ChatResult & { cut: ChatCut }): void;
  reject(error: Error): void;
}

/**
 * Streamed chat completions run on a worker thread of their own (chat-worker.mjs), started on the
 * first request and not keeping the process alive. Pieces of prose come back as messages, in order.
 */
export class ChatThread {
  private worker: Worker | null = null;
  private loaded: Promise<void> = Promise.resolve();
  private priorityOf: ChatPriority | null = null;
  private next = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly watched = new WeakSet<AbortSignal>();

  constructor(private readonly endpoint: ChatEndpoint) {}

  /** Starts the thread ahead of the first request; resolves once it has loaded (a moment). */
  warm(): Promise<void> {
    this.started();
    return this.loaded;
  }

  /** The running chat thread's thread id and niceness, once it has loaded (null before). */
  get priority(): ChatPriority | null {
    return this.priorityOf;
  }

  /**
   * Streams one completion, for at most `timeoutMs` from when the chat thread starts it; resolves
   * with `cut` set when `signal` or the deadline ended it early, or `onChunk` returned false.
   */
  stream(
    request: ChatRequest,
    timeoutMs: number,
    signal: AbortSignal,
    onChunk: (piece: string) => boolean | void,
  ): Promise<ChatResult & { cut: ChatCut }> {
    const worker = this.started();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { signal, onChunk, resolve, reject });
      this.watch(signal);
      worker.postMessage({ type: "stream", id, request, timeoutMs } satisfies ChatToWorker);
      if (signal.aborted) worker.postMessage({ type: "abort", id } satisfies ChatToWorker);
    });
  }

  /**
   * One abort listener per signal, however many requests share it (a universe's narrations all
   * share its close signal): aborting it stops each of its requests still in flight.
   */
  private watch(signal: AbortSignal): void {
    if (this.watched.has(signal) || signal.aborted) return;
    this.watched.add(signal);
    signal.addEventListener(
      "abort",
      () => {
        for (const [id, call] of this.inFlight)
          if (call.signal === signal) this.worker?.postMessage({ type: "abort", id } satisfies ChatToWorker);
      },
      { once: true },
    );
  }

  /** Stops the thread; requests in flight fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private deliver(event: ChatEvent): void {
    const call = this.inFlight.get(event.id);
    if (!call) return;
    if (event.type === "chunk") {
      for (const piece of event.pieces) {
        if (call.stopped) return;
        let more: boolean | void;
        try {
          more = call.onChunk(piece);
        } catch (error) {
          // the call fails alone: the other calls' events in the same message are still delivered
          this.inFlight.delete(event.id);
          this.worker?.postMessage({ type: "abort", id: event.id } satisfies ChatToWorker);
          call.reject(new ChatFailure(`a piece could not be told: ${String(error)}`, null));
          return;
        }
        if (more !== false) continue;
        call.stopped = true;
        this.worker?.postMessage({ type: "abort", id: event.id } satisfies ChatToWorker);
      }
      return;
    }
    this.inFlight.delete(event.id);
    if (event.type === "done") call.resolve({ ...event.result, cut: event.cut });
    else
      call.reject(
        new ChatFailure(event.message, event.cut, event.retryAfterMs ?? null, event.unreachable ?? false),
      );
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL("./chat-worker.mjs", import.meta.url), {
      workerData: this.endpoint,
    });
    let loaded = () => {};
    this.loaded = new Promise((resolve) => (loaded = resolve));
    worker.on("message", (message: ChatFromWorker) => {
      if (message.type === "ready") {
        this.priorityOf = { thread: message.thread, nice: message.nice, failure: message.failure };
        if (message.failure !== null && !toldPriority) {
          toldPriority = true;
          log.info(`the narrator's chat thread runs at the process's priority: ${message.failure}`);
        }
        return loaded();
      }
      for (const event of message.messages) this.deliver(event);
    });
    const failAll = (error: Error) => {
      loaded();
      if (this.worker === worker) this.worker = null;
      for (const call of this.inFlight.values()) call.reject(error);
      this.inFlight.clear();
    };
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new ChatFailure(`the chat thread exited (${code})`, null)));
    // after the listeners, which would hold the process open otherwise
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
