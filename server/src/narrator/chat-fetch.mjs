// The `fetch` the chat thread gives the OpenAI SDK (its `fetch` option): a request through
// node:http(s) with connections kept alive, answered with a standard Response. Node's built-in
// fetch (undici) builds a WHATWG Request, streams the body from an iterable and runs the fetch
// algorithm's bookkeeping for every request; at a narration per turn that was most of the chat
// thread's CPU, on a machine whose cores the thread that acknowledges turns needs.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

const agents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true }),
};

/**
 * fetch(url, init) for the SDK's requests: method, headers, a string or byte body and an abort
 * signal (the SDK's timeout and the caller's abort both arrive through it).
 * @param {string | URL} url
 * @param {{ method?: string, headers?: HeadersInit, body?: string | Uint8Array | null, signal?: AbortSignal }} [init]
 * @returns {Promise<Response>}
 */
export function chatFetch(url, init = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(String(url));
    const client = target.protocol === "https:" ? https : http;
    /** @type {Record<string, string>} */
    const headers = {};
    new Headers(init.headers).forEach((value, key) => (headers[key] = value));
    const body = init.body ?? undefined;
    if (body !== undefined && headers["content-length"] === undefined)
      headers["content-length"] = String(
        typeof body === "string" ? Buffer.byteLength(body) : body.byteLength,
      );
    const request = client.request(
      target,
      { method: init.method ?? "GET", headers, agent: agents[target.protocol], signal: init.signal },
      (response) => {
        const answered = new Headers();
        for (const [key, value] of Object.entries(response.headers))
          if (value !== undefined) answered.set(key, Array.isArray(value) ? value.join(", ") : value);
        const status = response.statusCode ?? 0;
        // a Response of these statuses may not have a body
        const bodiless = status === 204 || status === 205 || status === 304;
        if (bodiless) response.resume();
        resolve(
          new Response(bodiless ? null : Readable.toWeb(response), {
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
