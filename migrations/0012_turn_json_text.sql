DROP INDEX "turns_major_idx";--> statement-breakpoint
ALTER TABLE "turns" ALTER COLUMN "input" SET DATA TYPE json, ALTER COLUMN "resolution" SET DATA TYPE json, ALTER COLUMN "events" SET DATA TYPE json, ALTER COLUMN "deltas" SET DATA TYPE json, ALTER COLUMN "narration" SET DATA TYPE json;--> statement-breakpoint
CREATE INDEX "turns_major_idx" ON "turns" USING btree ("universe_id","position") WHERE "events"::jsonb @> '[{"major":true}]'::jsonb;
