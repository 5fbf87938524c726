-- The turns still waiting for their prose, found without reading the told ones between them: a
-- universe's next owner tells every one of them (server/src/narrator/universe-narration.ts) and the
-- dashboard counts them. In a healthy universe they are a few, so the index stays small.
CREATE INDEX "turns_untold_idx" ON "turns" USING btree ("universe_id","position") WHERE "narration" is null;
