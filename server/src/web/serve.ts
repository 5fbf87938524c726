import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Application, type Request, type Response, type NextFunction } from "express";
import { WEB_DIST } from "./build.ts";

/** Paths the server answers itself; everything else is a page of the web client. */
const SERVER_PATHS = /^\/(api|matchmake|healthz|readyz|metrics|metrics\.json)(\/|$)/;

/** Vite names every asset after its content hash: a cached copy is valid for good. */
const IMMUTABLE = "public, max-age=31536000, immutable";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Loom</title>
<body style="font-family: system-ui; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Loom</h1><p>The server is running, but its web client is not built: <code>web/dist</code> is
missing. Run <code>npm ci</code>, then <code>npm start</code> again (it builds the client), or
<code>npm run build:web</code>. The HTTP API under <code>/api</code> works meanwhile.</p></body>`;

/** Headers of every answer, Express's and the matchmaking's (api/cors.ts): see baseHeaders. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
};

/**
 * Every answer: a browser takes a body for the type it is sent as, and no other site frames a
 * page of Loom (a game master's page has buttons a framing site could trick a click onto).
 */
export function baseHeaders(_req: Request, res: Response, next: NextFunction): void {
  for (const [name, value] of Object.entries(BASE_HEADERS)) res.setHeader(name, value);
  next();
}

/**
 * API answers carry a player's own records (a sheet with private notes, a GM's whole state): no
 * browser keeps them on disk after the tab closes, and no shared cache keeps them at all. A route
 * whose answer may be kept says so itself.
 */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("Cache-Control", "no-store");
  next();
}

/**
 * The web client's pages run only the client's own scripts, and talk only to this server (its
 * HTTP API and its rooms' WebSockets). Styles may be inline: the page sets some on elements.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

/**
 * Serves the built web client (web/dist) at `/`: hashed assets with a year's cache, index.html
 * never cached (it names the current assets), and index.html for any other GET that is not the
 * API, so the client's own paths (/u/…, /invite/…) load on a reload.
 */
export function installWebClient(app: Application, dist = WEB_DIST): void {
  app.use(
    "/assets",
    express.static(join(dist, "assets"), {
      index: false,
      fallthrough: true,
      setHeaders: (res) => res.setHeader("Cache-Control", IMMUTABLE),
    }),
  );
  app.use(
    express.static(dist, {
      index: false,
      setHeaders: (res) => {
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("Content-Security-Policy", PAGE_POLICY);
      },
    }),
  );
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== "GET" && req.method !== "HEAD") || SERVER_PATHS.test(req.path)) return next();
    if (req.path.startsWith("/assets/")) return next(); // a missing asset is a 404, not the page
    const index = join(dist, "index.html");
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("Content-Security-Policy", PAGE_POLICY);
    if (!existsSync(index)) {
      res.status(503).type("html").send(NOT_BUILT);
      return;
    }
    res.type("html").sendFile(index);
  });
}
