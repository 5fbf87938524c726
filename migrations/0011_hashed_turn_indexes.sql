DROP INDEX "turns_run_idx";--> statement-breakpoint
DROP INDEX "turns_character_idx";--> statement-breakpoint
CREATE INDEX "turns_run_idx" ON "turns" USING btree ((md5("run_id")::uuid),"position") WHERE "run_id" is not null;--> statement-breakpoint
CREATE INDEX "turns_character_idx" ON "turns" USING btree ((md5("character_id")::uuid),"position") WHERE "character_id" is not null;