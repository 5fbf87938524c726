// The chat thread (see chat-thread.ts): runs the OpenAI SDK's streamed requests for one narrator,
// so that HTTP, SSE parsing and the SDK's bookkeeping for every narration stay off the thread
// that runs the rooms. Plain JavaScript: it loads without a TypeScript loader, in a moment.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import OpenAI from "openai";

// Narration follows turns and must never hold them up: where the machine is short of cores, the
// thread that acknowledges turns runs first. The SDK's requests and stream parsing take a few
// milliseconds of CPU each, at hundreds a second. On Linux a thread has a niceness of its own.
try {
  const thread = Number(readlinkSync("/proc/thread-self").split("/").pop());
  if (Number.isInteger(thread)) setPriority(thread, 10);
} catch {
  // no /proc (not Linux): the thread runs at the process's priority
}

const port = parentPort;
/** @type {{ url: string, apiKey: string | null, timeoutMs: number }} */
const endpoint = workerData;
const client = new OpenAI({
  baseURL: endpoint.url,
  // local servers (Ollama, llama.cpp) take no key, but the SDK insists on one
  apiKey: endpoint.apiKey ?? "none",
  // the narrator decides about retries
  maxRetries: 0,
  timeout: endpoint.timeoutMs,
});
/** @type {Map<number, AbortController>} */
const running = new Map();

port.postMessage({ type: "ready" });

port.on("message", (message) => {
  if (message.type === "abort") {
    running.get(message.id)?.abort();
    return;
  }
  const { id, request, timeoutMs } = message;
  const controller = new AbortController();
  running.set(id, controller);
  // the SDK's timeout covers the response headers; this one the whole stream too
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([controller.signal, deadline]);
  const cut = () => (controller.signal.aborted ? "aborted" : deadline.aborted ? "timeout" : null);
  stream(id, request, signal)
    .then((result) => port.postMessage({ type: "done", id, result, cut: cut() }))
    .catch((error) =>
      port.postMessage({
        type: "failed",
        id,
        message: error instanceof Error ? error.message : String(error),
        cut: cut() ?? (error instanceof OpenAI.APIConnectionTimeoutError ? "timeout" : null),
      }),
    )
    .finally(() => running.delete(id));
});

/** One completion, each piece of prose posted as it arrives; ends quietly when `signal` aborts. */
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
    if (chunk.usage) tokens = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
    const piece = chunk.choices[0]?.delta?.content;
    if (!piece) continue;
    text += piece;
    port.postMessage({ type: "chunk", id, piece });
  }
  return { text, model, tokens };
}
