// The `fetch` the chat thread gives the OpenAI SDK (its `fetch` option): a request through
// node:http(s) with connections kept alive, answered with a standard Response. Node's built-in
// fetch (undici) builds a WHATWG Request, streams the body from an iterable and runs the fetch
// algorithm's bookkeeping for every request; at a narration per turn that was most of the chat
// thread's CPU, on a machine whose cores the thread that acknowledges turns needs.
import http from "node:http";
import https from "node:https";

const agents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true }),
};

/** Redirects followed for one request, as Node's fetch does (it allows 20). */
const MAX_REDIRECTS = 5;

/**
 * fetch(url, init) for the SDK's requests: method, headers, a string or byte body and an abort
 * signal (the SDK's timeout and the caller's abort both arrive through it). A 307 or 308 is
 * followed with the same method and body (the key only to the same origin); any other answer,
 * other redirects included, goes to the SDK as it is, which reports a status it did not expect.
 * @param {string | URL} url
 * @param {{ method?: string, headers?: HeadersInit, body?: string | Uint8Array | null, signal?: AbortSignal }} [init]
 * @returns {Promise<Response>}
 */
export function chatFetch(url, init = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  new Headers(init.headers).forEach((value, key) => (headers[key] = value));
  const body = init.body ?? undefined;
  if (body !== undefined && headers["content-length"] === undefined)
    headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  return send(new URL(String(url)), init.method ?? "GET", headers, body, init.signal, MAX_REDIRECTS);
}

/**
 * @param {URL} target
 * @param {string} method
 * @param {Record<string, string>} headers
 * @param {string | Uint8Array | undefined} body
 * @param {AbortSignal | undefined} signal
 * @param {number} redirects
 * @returns {Promise<Response>}
 */
function send(target, method, headers, body, signal, redirects) {
  return new Promise((resolve, reject) => {
    const client = target.protocol === "https:" ? https : http;
    const request = client.request(
      target,
      { method, headers, agent: agents[target.protocol], signal },
      (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if ((status === 307 || status === 308) && location && redirects > 0) {
          response.resume();
          const next = new URL(location, target);
          const onward = { ...headers };
          if (next.origin !== target.origin) delete onward.authorization;
          resolve(send(next, method, onward, body, signal, redirects - 1));
          return;
        }
        const answered = new Headers();
        for (const [key, value] of Object.entries(response.headers))
          if (value !== undefined) answered.set(key, Array.isArray(value) ? value.join(", ") : value);
        // a Response of these statuses may not have a body
        const bodiless = status === 204 || status === 205 || status === 304;
        if (bodiless) response.resume();
        resolve(
          new Response(bodiless ? null : bodyOf(response), {
            status,
            statusText: response.statusMessage,
            headers: answered,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * The response's bytes as a web stream, pushed as they arrive. Readable.toWeb would pull through
 * a queue with backpressure, several promises a read; an SSE stream is small and the SDK reads it
 * as fast as it comes, so each piece the socket gives is simply handed on.
 * @param {import("node:http").IncomingMessage} response
 * @returns {ReadableStream<Uint8Array>}
 */
function bodyOf(response) {
  let ended = false;
  return new ReadableStream({
    start(controller) {
      response.on("data", (chunk) => {
        if (!ended) controller.enqueue(chunk);
      });
      response.once("end", () => {
        ended = true;
        controller.close();
      });
      response.once("error", (error) => {
        if (ended) return;
        ended = true;
        controller.error(error);
      });
      // destroyed before its end without an error (the connection dropped): the body is cut short
      response.once("close", () => {
        if (ended) return;
        ended = true;
        controller.error(new Error("the response ended before its body was complete"));
      });
    },
    cancel() {
      ended = true;
      response.destroy();
    },
  });
}
