import { matchMaker } from "@colyseus/core";
import { BASE_HEADERS } from "../web/serve.ts";

/** What a page elsewhere sends: the SDK's JSON calls with a bearer token, and its optional keys. */
const ALLOW_HEADERS = "Authorization, Content-Type, Accept, Idempotency-Key, X-Request-Id";
const ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
/** What such a page may read of an answer beyond the headers every page may read. */
const EXPOSE_HEADERS = "Retry-After, X-Request-Id, Idempotent-Replayed, Server-Timing";
/** How long a browser may reuse a preflight's answer (Chromium keeps one two hours at most). */
const PREFLIGHT_SECONDS = "7200";

/**
 * The CORS headers of an answer to a request with these headers: none unless LOOM_CORS_ORIGINS
 * names its Origin (or is `*`). Never Access-Control-Allow-Credentials: a page calls with the
 * bearer token it holds itself, and a browser's cookies or HTTP authentication for this server
 * are no page's to use. A request without Origin (the Node SDK, curl, a same-origin GET) gets
 * none: CORS is only for browsers reading answers across origins.
 */
export function corsHeaders(allowed: readonly string[], headers: Headers): Record<string, string> {
  if (allowed.length === 0) return {};
  const any = allowed.includes("*");
  // an allowlist answers each Origin differently: a shared cache must not hand one's answer to another
  const vary: Record<string, string> = any ? {} : { Vary: "Origin" };
  const origin = headers.get("origin");
  if (!origin || !(any || allowed.includes(origin))) return vary;
  const cors = { ...vary, "Access-Control-Allow-Origin": any ? "*" : origin };
  if (headers.has("access-control-request-method"))
    return {
      ...cors,
      "Access-Control-Allow-Methods": ALLOW_METHODS,
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": PREFLIGHT_SECONDS,
    };
  return { ...cors, "Access-Control-Expose-Headers": EXPOSE_HEADERS };
}

/**
 * Colyseus answers CORS for every request, Express's routes included, in a listener it puts in
 * front of both: its defaults merged with `matchMaker.controller.getCorsHeaders`, which by
 * default echo any Origin with credentials allowed, and a 204 for every OPTIONS. Both parts are
 * replaced here (the controller is one per process, like the matchmaker): the 204 stays, with
 * only the headers above, so a preflight from a page not allowed fails in the browser.
 */
export function installCors(allowed: readonly string[]): void {
  const { controller } = matchMaker;
  // typed as Colyseus's own five headers; the merge takes any, and these must go
  (controller as { DEFAULT_CORS_HEADERS: Record<string, string> }).DEFAULT_CORS_HEADERS = {};
  // the same listener answers matchmaking before Express runs: the headers every Express answer
  // gets (web/serve.ts baseHeaders) go with every answer from here
  controller.getCorsHeaders = (headers) => ({ ...BASE_HEADERS, ...corsHeaders(allowed, headers) });
}
