import type { Application, Response } from "express";
import { once } from "node:events";
import { API, RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import { callUniverse } from "../universe/dispatch.ts";
import { log } from "../log.ts";
import { exportUniverse, parseAudience, type Audience } from "../export/index.ts";
import { ApiError, caller, route } from "./http.ts";
import { isGm, requireMember, universeOr404 } from "./access.ts";

/**
 * GET /api/universes/:id/export: the universe as JSONL or Markdown (docs/export-format.md),
 * streamed a page of turns at a time. A game master gets the whole file (or, with `as=player:<id>`,
 * what that player would get); any other member gets the view of a player, their own. Pending
 * turns are persisted first, so the export includes every acknowledged turn.
 */
export function installExportRoutes(app: Application): void {
  app.get(
    API.export.path,
    route(async (req, res) => {
      const me = await caller(req);
      const universe = await universeOr404(String(req.params.id));
      await requireMember(universe, me.playerId);
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
        audience = asked;
      }
      try {
        await callUniverse(universe.id, "flush");
      } catch (error) {
        log.warn(`export of ${universe.id}: pending turns could not be persisted first`, {
          err: error,
          universeId: universe.id,
        });
      }
      const markdown = query.data.format === "markdown";
      res.status(200);
      res.setHeader(
        "content-type",
        markdown ? "text/markdown; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      );
      res.setHeader(
        "content-disposition",
        `attachment; filename="${universe.id}${audience.kind === "gm" ? "" : "-player"}.${markdown ? "md" : "jsonl"}"`,
      );
      res.setHeader("cache-control", "no-store");
      await stream(
        res,
        exportUniverse(services(), universe.id, {
          format: query.data.format,
          audience,
          ancestry: query.data.ancestry,
        }),
      );
    }),
  );
}

/** Writes the chunks as they come, waiting on back-pressure; a failure mid-way cuts the response (a partial file is never a whole one). */
async function stream(res: Response, chunks: AsyncIterable<string>): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await Promise.race([once(res, "drain"), once(res, "close")]);
    }
    res.end();
  } catch (error) {
    if (!res.headersSent) throw error;
    log.error("export failed mid-stream", { err: error });
    res.destroy(error as Error);
  }
}
