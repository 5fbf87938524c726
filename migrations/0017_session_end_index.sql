-- The sessions a universe's characters ended, found without reading the turns between them: "while
-- you were away" tells the others' latest sessions (recapFor in server/src/universe/continuity.ts).
CREATE INDEX "turns_session_end_idx" ON "turns" USING btree ("universe_id","position") WHERE "kind" = 'session_end';