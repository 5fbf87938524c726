CREATE TABLE "search_progress" (
	"universe_id" text PRIMARY KEY NOT NULL,
	"indexed_through" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "turn_search" (
	"universe_id" text NOT NULL,
	"block" integer NOT NULL,
	"document" "tsvector" NOT NULL,
	CONSTRAINT "turn_search_pkey" PRIMARY KEY("universe_id","block")
);
--> statement-breakpoint
-- Existing turns move to turn_search, a document per whole block of 32 positions (search-index.ts);
-- each universe is indexed through its head's last whole block, the rest is the indexer's.
INSERT INTO "search_progress" ("universe_id", "indexed_through") SELECT "id", ("head_position" / 32) * 32 FROM "universes";--> statement-breakpoint
INSERT INTO "turn_search" ("universe_id", "block", "document")
SELECT "universe_id", "block", "document" FROM (
	SELECT t."universe_id", (t."position" - 1) / 32 AS "block",
		strip(to_tsvector('english'::regconfig, string_agg(coalesce("input"->>'text', '') || ' ' || coalesce("input"->>'description', '') || ' ' || coalesce("input"->>'note', '') || ' ' || jsonb_path_query_array("events", '$[*].description')::text || ' ' || coalesce("narration"->>'text', ''), ' '))) AS "document"
	FROM "turns" t JOIN "search_progress" p ON p."universe_id" = t."universe_id" AND t."position" <= p."indexed_through"
	GROUP BY 1, 2
) AS "blocks"
WHERE length("document") > 0;--> statement-breakpoint
DROP INDEX "turns_search_idx";--> statement-breakpoint
CREATE INDEX "turn_search_document_idx" ON "turn_search" USING gin ("document");
