ALTER TABLE "play_sessions" ADD COLUMN "end_reason" text;--> statement-breakpoint
CREATE INDEX "play_sessions_open_idx" ON "play_sessions" USING btree ("universe_id") WHERE end_position is null;