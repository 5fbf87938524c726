// The chat thread (see chat-thread.ts): runs the OpenAI SDK's streamed requests for one narrator,
// so that HTTP, SSE parsing and the SDK's bookkeeping for every narration stay off the thread
// that runs the rooms. Plain JavaScript: it loads without a TypeScript loader, in a moment.
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import OpenAI from "openai";
import { chatFetch, RedirectRefused } from "./chat-fetch.mjs";

const port = parentPort;
/** @type {{ url: string, apiKey: string | null, timeoutMs: number, nice: number }} */
const endpoint = workerData;

/**
 * Narration follows turns and must never hold them up: where the machine is short of cores, the
 * thread that acknowledges turns runs first and this one takes the CPU left over. On Linux a
 * thread has a niceness of its own (its id is the last part of /proc/thread-self); elsewhere, or
 * where it cannot be set, the thread runs at the process's priority and says why.
 * @returns {{ thread: number | null, nice: number | null, failure: string | null }}
 */
function lowerPriority() {
  let thread = null;
  try {
    thread = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(thread)) throw new Error("/proc/thread-self names no thread");
    // lower only: raising a thread above the process's priority takes a privilege
    if (endpoint.nice > getPriority(thread)) setPriority(thread, endpoint.nice);
    return { thread, nice: getPriority(thread), failure: null };
  } catch (error) {
    return { thread, nice: null, failure: error instanceof Error ? error.message : String(error) };
  }
}
const priority = lowerPriority();

const client = new OpenAI({
  baseURL: endpoint.url,
  // local servers (Ollama, llama.cpp) take no key, but the SDK insists on one
  apiKey: endpoint.apiKey ?? "none",
  // the narrator decides about retries
  maxRetries: 0,
  timeout: endpoint.timeoutMs,
  fetch: chatFetch,
  // its errors come back to the narrator, which logs them once, structured; the SDK's own lines
  // (a stream that is no JSON: two a try) would reach stderr unstructured
  logLevel: "off",
});
/** @type {Map<number, { controller: AbortController, timedOut: boolean }>} */
const running = new Map();

/**
 * What goes back to the rooms' thread leaves in one message per turn of this thread's event loop:
 * the pieces of every stream read in one go travel together. A message each costs a wake-up of
 * the thread that acknowledges turns, and an event dispatch there, for a few bytes of prose.
 * @type {object[]}
 */
let outbox = [];
function post(message) {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(message);
}
function flush() {
  const messages = outbox;
  outbox = [];
  port.postMessage({ type: "batch", messages });
}

/**
 * A stream's pieces after its first wait here, to leave together: with the stream's end (most
 * tellings end within a few tens of milliseconds of their first piece) or once HOLD_MS have passed.
 * The first piece leaves at once, for the table to see the story start; the rooms' thread holds
 * later pieces back anyway to send them in fewer writes, so sending each on its own would only
 * cost a message (a wake-up and a dispatch there) per token.
 * @type {Map<number, string[]>}
 */
const held = new Map();
const HOLD_MS = 40;
let holdTimer = null;

function piece(id, text, first) {
  if (first) {
    post({ type: "chunk", id, pieces: [text] });
    return;
  }
  const pieces = held.get(id);
  if (pieces) pieces.push(text);
  else held.set(id, [text]);
  holdTimer ??= setTimeout(releaseAll, HOLD_MS);
}

/** Posts what `id` holds, before its end: the pieces keep their order. */
function release(id) {
  const pieces = held.get(id);
  if (!pieces) return;
  held.delete(id);
  post({ type: "chunk", id, pieces });
}

function releaseAll() {
  holdTimer = null;
  for (const id of [...held.keys()]) release(id);
}

/**
 * How long an endpoint that refused (429, 503) asks to be left alone: Retry-After in seconds or
 * as an HTTP date. Null when it does not say.
 * @param {Headers | Record<string, string> | undefined} headers
 * @returns {number | null}
 */
function retryAfterMs(headers) {
  const value = typeof headers?.get === "function" ? headers.get("retry-after") : headers?.["retry-after"];
  if (typeof value !== "string" || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** The most of an error's text that leaves this thread. */
const ERROR_TEXT_MAX = 500;

/**
 * An error's text as the rooms' thread may log it. The SDK's message quotes the endpoint's error
 * body, and an endpoint may echo the request back in it, Authorization header and all; and a body
 * may be any length.
 * @param {unknown} error
 * @returns {string}
 */
function errorText(error) {
  let text = error instanceof Error ? error.message : String(error);
  if (endpoint.apiKey) text = text.replaceAll(endpoint.apiKey, "[the API key]");
  if (text.length <= ERROR_TEXT_MAX) return text;
  // not half of a surrogate pair
  const end = /[\uD800-\uDBFF]/.test(text[ERROR_TEXT_MAX - 1] ?? "") ? ERROR_TEXT_MAX - 1 : ERROR_TEXT_MAX;
  return `${text.slice(0, end)}… (${text.length - end} characters more)`;
}

port.postMessage({ type: "ready", ...priority });

port.on("message", (message) => {
  if (message.type === "abort") {
    running.get(message.id)?.controller.abort();
    return;
  }
  const { id, request, timeoutMs } = message;
  // One controller per request, aborted by the caller or by the deadline (the SDK's own timeout
  // covers the response headers; this one the whole stream too). AbortSignal.timeout and
  // AbortSignal.any would cost a signal each and weak references for every request.
  const call = { controller: new AbortController(), timedOut: false };
  running.set(id, call);
  const deadline = setTimeout(() => {
    call.timedOut = true;
    call.controller.abort();
  }, timeoutMs);
  const cut = () => (call.timedOut ? "timeout" : call.controller.signal.aborted ? "aborted" : null);
  stream(id, request, call.controller.signal)
    .then((result) => {
      release(id);
      post({ type: "done", id, result, cut: cut() });
    })
    .catch((error) => {
      release(id);
      // the endpoint answered, with a redirect elsewhere: the SDK calls that a connection error
      const refused = error instanceof OpenAI.APIConnectionError && error.cause instanceof RedirectRefused;
      post({
        type: "failed",
        id,
        message: errorText(refused ? error.cause : error),
        cut: cut() ?? (error instanceof OpenAI.APIConnectionTimeoutError ? "timeout" : null),
        retryAfterMs: error instanceof OpenAI.APIError ? retryAfterMs(error.headers) : null,
        // no answer at all: refused, reset, a name that does not resolve (a timeout is a cut)
        unreachable:
          error instanceof OpenAI.APIConnectionError &&
          !(error instanceof OpenAI.APIConnectionTimeoutError) &&
          !refused,
      });
    })
    .finally(() => {
      clearTimeout(deadline);
      running.delete(id);
    });
});

/** One completion, its pieces of prose posted as they arrive (see `held`); ends quietly when `signal` aborts. */
async function stream(id, request, signal) {
  const completion = await client.chat.completions.create(
    {
      model: request.model,
      messages: [
        { role: "system", content: request.system },
        { role: "user", content: request.user },
      ],
      stream: true,
      stream_options: { include_usage: true },
      ...request.parameters,
    },
    { signal },
  );
  let text = "";
  let model = null;
  let tokens = null;
  for await (const chunk of completion) {
    model ??= chunk.model || null;
    if (chunk.usage)
      tokens = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
    const content = chunk.choices?.[0]?.delta?.content;
    // prose is a string: a number, an object or an array in its place is the endpoint's error
    if (typeof content !== "string" || content === "") continue;
    piece(id, content, text === "");
    text += content;
  }
  return { text, model, tokens };
}
