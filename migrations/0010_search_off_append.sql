CREATE TABLE "search_progress" (
	"universe_id" text PRIMARY KEY NOT NULL,
	"indexed_through" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "turn_search" (
	"universe_id" text NOT NULL,
	"position" integer NOT NULL,
	"document" "tsvector" NOT NULL,
	CONSTRAINT "turn_search_pkey" PRIMARY KEY("universe_id","position")
);
--> statement-breakpoint
-- Existing turns move to turn_search (only those with text), every universe indexed through its head.
INSERT INTO "turn_search" ("universe_id", "position", "document")
SELECT "universe_id", "position", "document" FROM (
	SELECT "universe_id", "position", to_tsvector('english'::regconfig, coalesce("input"->>'text', '') || ' ' || coalesce("input"->>'description', '') || ' ' || coalesce("input"->>'note', '') || ' ' || jsonb_path_query_array("events", '$[*].description')::text || ' ' || coalesce("narration"->>'text', '')) AS "document"
	FROM "turns"
) AS "documents"
WHERE length("document") > 0;--> statement-breakpoint
INSERT INTO "search_progress" ("universe_id", "indexed_through") SELECT "id", "head_position" FROM "universes";--> statement-breakpoint
DROP INDEX "turns_search_idx";--> statement-breakpoint
CREATE INDEX "turn_search_document_idx" ON "turn_search" USING gin ("document");
