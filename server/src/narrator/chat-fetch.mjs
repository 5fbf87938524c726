// The `fetch` the chat thread gives the OpenAI SDK (its `fetch` option): a request through
// node:http(s) with connections kept alive, answered with what the SDK reads of a Response (see
// ChatResponse). Node's built-in fetch (undici) builds a WHATWG Request, streams the body from an
// iterable and runs the fetch algorithm's bookkeeping for every request; at a narration per turn
// that was most of the chat thread's CPU, on a machine whose cores the thread that acknowledges
// turns needs.
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
 * signal (the SDK's timeout and the caller's abort both arrive through it). A 307 or 308 within
 * the endpoint's origin is followed with the same method and body; one to another origin is
 * refused (RedirectRefused). Any other answer, other redirects included, goes to the SDK as it
 * is, which reports a status it did not expect.
 * @param {string | URL} url
 * @param {{ method?: string, headers?: HeadersInit, body?: string | Uint8Array | null, signal?: AbortSignal }} [init]
 * @returns {Promise<ChatResponse>}
 */
export function chatFetch(url, init = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  // the SDK gives a Headers already: read it rather than copy it into another
  const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  given.forEach((value, key) => (headers[key] = value));
  const body = init.body ?? undefined;
  if (body !== undefined && headers["content-length"] === undefined)
    headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  return send(new URL(String(url)), init.method ?? "GET", headers, body, init.signal, MAX_REDIRECTS);
}

/**
 * A redirect away from the endpoint's origin: the prompt goes to the endpoint configured and no
 * other, and the prose a record credits to its host (`endpoint`) is that host's.
 */
export class RedirectRefused extends Error {
  name = "RedirectRefused";
}

/**
 * @param {URL} target
 * @param {string} method
 * @param {Record<string, string>} headers
 * @param {string | Uint8Array | undefined} body
 * @param {AbortSignal | undefined} signal
 * @param {number} redirects
 * @returns {Promise<ChatResponse>}
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
          // thrown here, an invalid location would end the thread rather than the request
          const next = URL.canParse(location, target) ? new URL(location, target) : null;
          if (next?.origin !== target.origin) {
            const to = next ? `${next.origin}, another origin` : "a location that is no URL";
            reject(new RedirectRefused(`redirected to ${to}: not followed`));
            return;
          }
          resolve(send(next, method, headers, body, signal, redirects - 1));
          return;
        }
        // a response of these statuses has no body
        const bodiless = status === 204 || status === 205 || status === 304;
        if (bodiless) response.resume();
        resolve(new ChatResponse(response, status, bodiless ? null : bodyOf(response), target.href));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** The most of a body `text()` reads, then the response is dropped. */
const TEXT_BYTES_MAX = 64 * 1024;

/**
 * What the SDK reads of a response to its own fetch: status, headers, a body it iterates (it takes
 * an async iterable as readily as a web stream) and, for an error, the body's text. A WHATWG
 * Response, its Headers and a ReadableStream cost the chat thread a good share of its work and
 * allocations per narration, for a stream the SDK reads once, front to back.
 */
class ChatResponse {
  /**
   * @param {import("node:http").IncomingMessage} message
   * @param {number} status
   * @param {ChatBody | null} body
   * @param {string} url
   */
  constructor(message, status, body, url) {
    this.status = status;
    this.statusText = message.statusMessage ?? "";
    this.ok = status >= 200 && status < 300;
    this.url = url;
    this.redirected = false;
    this.headers = new ChatHeaders(message.headers);
    this.body = body;
    this.bodyUsed = false;
  }

  /**
   * The body's text, its first TEXT_BYTES_MAX bytes or so: completions are streamed, so a body
   * read whole is an error's, and the error's message quotes only its start (chat-worker.mjs).
   */
  async text() {
    this.bodyUsed = true;
    if (!this.body) return "";
    const decoder = new TextDecoder();
    let text = "";
    let read = 0;
    for await (const bytes of this.body) {
      text += decoder.decode(bytes, { stream: true });
      read += bytes.byteLength;
      // an endpoint may send an error body of any length, and all of it would be held here
      if (read >= TEXT_BYTES_MAX) break;
    }
    return text + decoder.decode();
  }

  async json() {
    return JSON.parse(await this.text());
  }
}

/**
 * A response's headers as the SDK asks for them (get, has, entries, iteration), over the names
 * Node parsed, already in lower case. Its own properties are the headers themselves, which is
 * what the SDK's request logging lists of an object that is not a WHATWG Headers.
 */
class ChatHeaders {
  /** @param {import("node:http").IncomingHttpHeaders} parsed */
  constructor(parsed) {
    for (const name in parsed) {
      const value = parsed[name];
      if (value !== undefined) this[name] = Array.isArray(value) ? value.join(", ") : value;
    }
  }

  /** @param {string} name */
  get(name) {
    const key = name.toLowerCase();
    return Object.hasOwn(this, key) ? this[key] : null;
  }

  /** @param {string} name */
  has(name) {
    return Object.hasOwn(this, name.toLowerCase());
  }

  /** @param {(value: string, name: string, headers: ChatHeaders) => void} visit */
  forEach(visit) {
    for (const [name, value] of this.entries()) visit(value, name, this);
  }

  *entries() {
    for (const name of Object.keys(this).sort()) yield [name, this[name]];
  }

  *keys() {
    for (const [name] of this.entries()) yield name;
  }

  *values() {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}

/** The longest line a streamed answer may hold: one event's JSON is a few hundred bytes. */
const LINE_BYTES_MAX = 1 << 20;

/**
 * A response's bytes, pushed as the socket gives them and read by one consumer through async
 * iteration; `return()` (the SDK's cancel) destroys the response. A connection that closes before
 * the body's end is an error, as it is for fetch.
 */
class ChatBody {
  /** @param {import("node:http").IncomingMessage} response */
  constructor(response) {
    this.response = response;
    /** @type {Buffer[]} */
    this.queue = [];
    /** @type {Error | null} */
    this.failure = null;
    this.ended = false;
    /** Bytes since the body's last line feed: a line is parsed whole, so it is held whole. */
    this.lineBytes = 0;
    /** @type {{ resolve: (result: IteratorResult<Uint8Array>) => void, reject: (error: Error) => void } | null} */
    this.waiting = null;
    response.on("data", (/** @type {Buffer} */ chunk) => {
      if (this.ended) return;
      const last = chunk.lastIndexOf(10);
      const longest =
        last === -1
          ? this.lineBytes + chunk.length
          : Math.max(this.lineBytes + chunk.indexOf(10), chunk.length - last - 1);
      this.lineBytes = last === -1 ? this.lineBytes + chunk.length : chunk.length - last - 1;
      if (longest > LINE_BYTES_MAX) {
        // an endpoint that never ends its line would have the whole stream held until the timeout
        this.finish(new Error(`the endpoint sent a line of more than ${LINE_BYTES_MAX} bytes`));
        this.queue.length = 0;
        response.destroy();
        return;
      }
      if (this.waiting) this.settle().resolve({ value: chunk, done: false });
      else this.queue.push(chunk);
    });
    response.once("end", () => this.finish(null));
    response.on("error", (error) => this.finish(error));
    // destroyed before its end without an error (the connection dropped): the body is cut short
    response.once("close", () => this.finish(new Error("the response ended before its body was complete")));
  }

  /** @param {Error | null} failure */
  finish(failure) {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    if (!this.waiting || this.queue.length > 0) return;
    if (failure) this.settle().reject(failure);
    else this.settle().resolve({ value: undefined, done: true });
  }

  settle() {
    const waiting = /** @type {NonNullable<ChatBody["waiting"]>} */ (this.waiting);
    this.waiting = null;
    return waiting;
  }

  /** @returns {Promise<IteratorResult<Uint8Array>>} */
  next() {
    const chunk = this.queue.shift();
    if (chunk) return Promise.resolve({ value: chunk, done: false });
    if (this.ended)
      return this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** @returns {Promise<IteratorResult<Uint8Array>>} */
  return() {
    this.queue.length = 0;
    if (!this.ended) {
      this.ended = true;
      this.response.destroy();
    }
    if (this.waiting) this.settle().resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/**
 * @param {import("node:http").IncomingMessage} response
 * @returns {ChatBody}
 */
function bodyOf(response) {
  return new ChatBody(response);
}
