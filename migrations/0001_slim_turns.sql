DROP INDEX "turns_character_idx";--> statement-breakpoint
DROP INDEX "turns_id_idx";--> statement-breakpoint
DROP INDEX "turns_run_idx";--> statement-breakpoint
DROP INDEX "turns_search_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "turns_id_idx" ON "turns" USING btree ((md5("id")::uuid));--> statement-breakpoint
CREATE INDEX "turns_run_idx" ON "turns" USING btree ("run_id","position") WHERE "run_id" is not null;--> statement-breakpoint
CREATE INDEX "turns_search_idx" ON "turns" USING gin (to_tsvector('english'::regconfig, coalesce("input"->>'text', '') || ' ' || coalesce("input"->>'description', '') || ' ' || coalesce("input"->>'note', '') || ' ' || jsonb_path_query_array("events", '$[*].description')::text || ' ' || coalesce("narration"->>'text', '')));--> statement-breakpoint
ALTER TABLE "turns" DROP COLUMN "search";