-- The undos of a universe, found without reading the turns between them: "Last time on…" asks
-- whether one took back a turn of a session after the session ended (server/src/universe/continuity.ts).
CREATE INDEX "turns_undo_idx" ON "turns" USING btree ("universe_id","position") WHERE "kind" = 'undo';
