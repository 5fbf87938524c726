-- Snapshots stored by part: each bucket of a bucketed record once per universe (snapshot_parts), a
-- snapshot the text between its parts and their digests. Older rows keep their whole document.
CREATE TABLE "snapshot_parts" (
	"universe_id" text NOT NULL,
	"digest" uuid NOT NULL,
	"document" text NOT NULL,
	CONSTRAINT "snapshot_parts_pkey" PRIMARY KEY("universe_id","digest")
);
--> statement-breakpoint
ALTER TABLE "snapshots" ALTER COLUMN "state" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "pieces" text[];--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "parts" uuid[];--> statement-breakpoint
-- A snapshot's document as text, stored whole (`state`) or by part (server/src/persist/snapshot-parts.ts):
-- pieces[1] || part 1 || pieces[2] || … || part n || pieces[n + 1], each part found by the digest
-- `parts` names it by. A part that is missing leaves out its text and the piece before it: the
-- document then differs from the one its checksum was taken of, and readers treat the snapshot as
-- damaged, as they do a whole one that was changed.
CREATE FUNCTION "loom_snapshot_document"(text, json, text[], uuid[]) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF $2 IS NOT NULL THEN
    RETURN $2::text;
  END IF;
  -- one unnest of both arrays (each detoasted once), the last piece paired with no part
  RETURN (
    SELECT string_agg("u"."piece" || CASE WHEN "u"."digest" IS NULL THEN '' ELSE "p"."document" END, '' ORDER BY "u"."i")
    FROM unnest($3, $4) WITH ORDINALITY AS "u"("piece", "digest", "i")
    LEFT JOIN "snapshot_parts" AS "p" ON "p"."universe_id" = $1 AND "p"."digest" = "u"."digest"
  );
END $$;
