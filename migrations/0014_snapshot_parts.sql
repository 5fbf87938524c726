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
ALTER TABLE "snapshots" ADD COLUMN "skeleton" text;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "parts" uuid[];
--> statement-breakpoint
-- A snapshot's document as text, stored whole (`state`) or by part (server/src/persist/snapshot-parts.ts):
-- piece 1 || part 1 || piece 2 || … || part n || piece n + 1, the pieces the skeleton's text between
-- U+0001s, each part found by the digest `parts` names it by. Null when a part is missing: readers
-- take the snapshot for a damaged one.
CREATE FUNCTION "loom_snapshot_document"(text, json, text, uuid[]) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  "document" text;
  "missing" boolean;
BEGIN
  IF $2 IS NOT NULL THEN
    RETURN $2::text;
  END IF;
  -- the last piece paired with no part
  SELECT string_agg("u"."piece" || coalesce("p"."document", ''), '' ORDER BY "u"."i"),
         bool_or("u"."digest" IS NOT NULL AND "p"."document" IS NULL)
    INTO "document", "missing"
    FROM unnest(string_to_array($3, E'\x01'), $4) WITH ORDINALITY AS "u"("piece", "digest", "i")
    LEFT JOIN "snapshot_parts" AS "p" ON "p"."universe_id" = $1 AND "p"."digest" = "u"."digest";
  RETURN CASE WHEN "missing" THEN NULL ELSE "document" END;
END $$;
