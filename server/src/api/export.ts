import type { Application, Response } from "express";
import { API, RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import { callUniverseHoldingTurns } from "../universe/dispatch.ts";
import { log } from "../log.ts";
import {
  exportUniverse,
  parseAudience,
  type AncestryMode,
  type Audience,
  type ExportFormat,
} from "../export/index.ts";
import { ApiError, caller, checkJsonValue, route } from "./http.ts";
import { isGm, requireMember, universeOr404 } from "./access.ts";
import type { ExportSlot } from "./limits.ts";

/**
 * How long an export waits for its reader to take what was written before it is cut: a reader
 * that stopped would otherwise keep a page of turns in memory for as long as it keeps the
 * connection.
 */
const STALL_MS = 60_000;

/**
 * GET /api/universes/:id/export: the universe as JSONL or Markdown (docs/export-format.md),
 * streamed a page of turns at a time. A game master gets the whole file (or, with `as=player:<id>`,
 * what that player would get); any other member gets the view of a player, their own. Pending
 * turns are persisted first, so the export includes every acknowledged turn.
 *
 * Each export reads the whole timeline, its parents' too, and parses, redacts and writes every
 * turn on the thread the rooms share: a player may make only so many a minute
 * (LOOM_LIMIT_EXPORT_PLAYER), and a process only so many at once (LOOM_MAX_EXPORTS).
 */
export function installExportRoutes(app: Application): void {
  app.get(
    API.export.path,
    route(async (req, res) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
      checkJsonValue(req.query, "query");
      const query = API.export.query.safeParse(req.query);
      if (!query.success)
        throw new ApiError(
          400,
          RejectionCode.InvalidMessage,
          `query: format=jsonl|markdown, ancestry=full|reference, as=gm|player:<id>`,
        );
      const gm = isGm(universe, me.playerId);
      const asked = query.data.as ? parseAudience(query.data.as) : null;
      let audience: Audience = gm ? { kind: "gm" } : { kind: "player", playerId: me.playerId };
      if (asked) {
        const own = asked.kind === "player" && asked.playerId === me.playerId;
        if (!gm && !own)
          throw new ApiError(
            403,
            RejectionCode.NotAllowed,
            "only a game master may export another audience's view",
          );
        // a view for nobody would be a file that looks like someone's
        if (asked.kind === "player" && !own && !(await services().turnStore.getPlayer(asked.playerId)))
          throw new ApiError(404, RejectionCode.NotFound, `no player ${asked.playerId}`);
        audience = asked;
      }
      const slot = services().limits.startExport(me.playerId);
      try {
        await persistAcknowledged(universe.id);
        await send(res, universe.id, audience, query.data, slot);
      } finally {
        slot.end();
      }
    }),
  );
}

/**
 * Persists the acknowledged turns the database may lack. Only an open room holds such turns, or
 * a live stream its room left behind (a room that closed while the database failed, a process that
 * died): a universe at rest is exported from the database as it is, not opened for it (a lease and
 * a state load, which anyone who may read a public universe could otherwise ask for at will).
 */
async function persistAcknowledged(universeId: string): Promise<void> {
  try {
    await callUniverseHoldingTurns(universeId, "flush");
  } catch (error) {
    log.warn(`export of ${universeId}: pending turns could not be persisted first`, {
      err: error,
      universeId,
    });
  }
}

/** The response's headers, then the file, a page of turns at a time. */
async function send(
  res: Response,
  universeId: string,
  audience: Audience,
  options: { format: ExportFormat; ancestry: AncestryMode },
  slot: ExportSlot,
): Promise<void> {
  const markdown = options.format === "markdown";
  res.status(200);
  res.setHeader(
    "content-type",
    markdown ? "text/markdown; charset=utf-8" : "application/x-ndjson; charset=utf-8",
  );
  res.setHeader(
    "content-disposition",
    `attachment; filename="${universeId}${audience.kind === "gm" ? "" : "-player"}.${markdown ? "md" : "jsonl"}"`,
  );
  res.setHeader("cache-control", "no-store");
  const chunks = exportUniverse(services(), universeId, {
    format: options.format,
    ancestry: options.ancestry,
    audience,
    onDamagedSnapshot: (position) =>
      log.warn(`export of ${universeId}: its snapshot at ${position} does not match its checksum: left out`, {
        universeId,
        position,
      }),
  });
  await stream(res, chunks, slot);
}

/**
 * Writes the chunks as they come, waiting on back-pressure with the export's slot set aside; a
 * failure mid-way cuts the response (a partial file is never a whole one), and so does a reader
 * that takes nothing for STALL_MS.
 */
async function stream(res: Response, chunks: AsyncIterable<string>, slot: ExportSlot): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk) && !(await slot.aside(drained(res, STALL_MS)))) {
        res.destroy();
        return;
      }
    }
    res.end();
  } catch (error) {
    if (!res.headersSent) throw error;
    log.error("export failed mid-stream", { err: error });
    res.destroy(error as Error);
  }
}

/** Whether the response drained within `ms`: false when it closed first, or stalled. */
function drained(res: Response, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(() => settle(false), ms);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}
