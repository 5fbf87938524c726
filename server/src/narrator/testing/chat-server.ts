import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the fake endpoint does with one request (the n-th, from 0). */
export interface ChatBehaviour {
  /** Prose to stream, in these pieces. */
  chunks?: string[];
  /** Wait before the response headers. */
  delayMs?: number;
  /** Wait between chunks. */
  chunkDelayMs?: number;
  /** Before writing chunk `index` (or breaking there), wait for what this returns (a test's cue rather than a clock). */
  beforeChunk?: (index: number) => Promise<void> | undefined;
  /** Answer with this HTTP status and an error body instead. */
  status?: number;
  /** With `status`, a Retry-After header of this value. */
  retryAfter?: string;
  /** With `status`, this body instead of a scripted error (an endpoint may quote the request back in it). */
  errorBody?: string;
  /** Answer with a 307 to this location (absolute, or relative to the request's URL). */
  redirect?: string;
  /** Stream these pieces, then drop the connection. */
  breakAfter?: number;
  /** The `model` each chunk names, instead of the one asked for (any JSON, as a broken endpoint may). */
  model?: unknown;
  /** The final chunk's `usage`, instead of counts of the prose. */
  usage?: unknown;
  /** Stream this as the data of an event instead of the prose: text that is no JSON, as a broken endpoint sends. */
  malformed?: string;
  /** Stream these as each chunk's `content` instead of `chunks`: any JSON (a number, an object), as a broken endpoint may. */
  contents?: unknown[];
  /** Begin an event and send this many bytes of it without ever ending its line; then wait for the client to go. */
  unterminatedBytes?: number;
}

export interface ChatRequestSeen {
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    stream?: boolean;
    seed?: number;
    temperature?: number;
    max_tokens?: number;
  };
  authorization: string | undefined;
  /** The request's path, `/v1/chat/completions` unless a redirect led elsewhere. */
  path: string;
}

export interface ChatServer {
  url: string;
  requests: ChatRequestSeen[];
  /** When each streamed chunk was written (performance.now()), by request. */
  written: number[][];
  close(): Promise<void>;
}

/**
 * A local HTTP server that speaks OpenAI's chat-completions protocol with SSE streaming, as
 * Ollama and llama.cpp do: enough of it for the official SDK to talk to, with behaviour scripted
 * per request (delays, failures, broken streams). Tests and the narration benchmark start one.
 */
export async function startChatServer(
  behave: (n: number, request: ChatRequestSeen) => ChatBehaviour,
  port = 0,
): Promise<ChatServer> {
  const requests: ChatRequestSeen[] = [];
  const written: number[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const piece of req) raw += String(piece);
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const seen: ChatRequestSeen = {
      body: JSON.parse(raw) as ChatRequestSeen["body"],
      authorization: req.headers.authorization,
      path: req.url,
    };
    const n = requests.length;
    requests.push(seen);
    const times: number[] = [];
    written.push(times);
    const behaviour = behave(n, seen);
    if (behaviour.delayMs) await sleep(behaviour.delayMs);
    if (res.destroyed) return;
    if (behaviour.redirect !== undefined) {
      res.writeHead(307, { location: behaviour.redirect }).end();
      return;
    }
    if (behaviour.status) {
      res.writeHead(behaviour.status, {
        "content-type": "application/json",
        ...(behaviour.retryAfter === undefined ? {} : { "retry-after": behaviour.retryAfter }),
      });
      res.end(
        behaviour.errorBody ??
          JSON.stringify({ error: { message: "scripted failure", type: "server_error" } }),
      );
      return;
    }
    const chunks = behaviour.chunks ?? ["The tide ", "turns."];
    const id = `chatcmpl-${n}`;
    const answeredModel = "model" in behaviour ? behaviour.model : seen.body.model;
    const frame = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model: answeredModel, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(frame({ role: "assistant", content: "" }));
    if (behaviour.malformed !== undefined) {
      res.end(`data: ${behaviour.malformed}\n\n`);
      return;
    }
    if (behaviour.unterminatedBytes !== undefined) {
      res.write('data: {"choices":[{"index":0,"delta":{"content":"');
      const block = "a".repeat(64 * 1024);
      for (let sent = 0; sent < behaviour.unterminatedBytes && !res.destroyed; sent += block.length)
        if (!res.write(block))
          // each wait takes its listeners off again: a long body waits many times
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done).off("close", done);
              resolve();
            };
            res.once("drain", done).once("close", done);
          });
      if (!res.destroyed) await new Promise((resolve) => res.once("close", resolve));
      return;
    }
    if (behaviour.contents !== undefined) {
      for (const content of behaviour.contents) res.write(frame({ content }));
      res.end("data: [DONE]\n\n");
      return;
    }
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0 && behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs);
      await behaviour.beforeChunk?.(i);
      if (behaviour.breakAfter !== undefined && i === behaviour.breakAfter) {
        await sleep(50); // what was written reaches the client before the connection drops
        res.destroy();
        return;
      }
      if (res.destroyed) return;
      res.write(frame({ content: chunks[i] }));
      times.push(performance.now());
    }
    const completion = chunks.join("").split(/\s+/).length;
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model: answeredModel, choices: [], usage: "usage" in behaviour ? behaviour.usage : { prompt_tokens: 100, completion_tokens: completion, total_tokens: 100 + completion } })}\n\n`,
    );
    res.end("data: [DONE]\n\n");
  }

  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/v1`,
    requests,
    written,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
