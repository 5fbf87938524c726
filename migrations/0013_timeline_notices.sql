-- Tells every Loom process listening on "loom_timeline" what a committed write changed of what a
-- timeline read returns (server/src/persist/timeline-notices.ts), so that copies of reads kept in
-- one process are dropped when another process writes. Sent by the database at commit, whoever
-- wrote: no write can commit unannounced. Payloads (JSON): "r" universes whose record changed;
-- "t" stored turns changed ({"u": universe, "p": position, or null for all of its turns});
-- {"all": true} when the list would not fit. An append's move of the head alone is not announced:
-- a transaction that notifies holds a lock on the notice queue through its commit, which would
-- line up every persist of every universe; readers take the head from the live stream and read a
-- kept record again within seconds (server/src/universe/scrub-turns.ts).
CREATE FUNCTION "loom_universe_notice"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  "turns" json := '[]';
BEGIN
  IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'head_position') = (to_jsonb(NEW) - 'head_position') THEN
    RETURN NULL;
  END IF;
  -- a dice reveal shows every turn's rolls differently
  IF TG_OP = 'DELETE' OR OLD.dice_revealed_at IS DISTINCT FROM NEW.dice_revealed_at THEN
    "turns" := json_build_array(json_build_object('u', OLD.id, 'p', NULL));
  END IF;
  PERFORM pg_notify('loom_timeline', json_build_object('r', json_build_array(OLD.id), 't', "turns")::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "universes_notice" AFTER UPDATE OR DELETE ON "universes"
  FOR EACH ROW EXECUTE FUNCTION "loom_universe_notice"();
--> statement-breakpoint
CREATE FUNCTION "loom_turns_notice"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  "payload" text;
BEGIN
  -- each turn while they are few; past that, every turn of each universe a statement touched
  IF (SELECT count(*) FROM "changed") <= 40 THEN
    SELECT json_build_object('t', json_agg(json_build_object('u', "universe_id", 'p', "position")))::text
      INTO "payload" FROM "changed";
  ELSE
    SELECT json_build_object('t', json_agg(json_build_object('u', "universe_id", 'p', NULL)))::text
      INTO "payload" FROM (SELECT DISTINCT "universe_id" FROM "changed") AS "touched";
  END IF;
  IF length("payload") > 7900 THEN
    "payload" := '{"all":true}';
  END IF;
  IF EXISTS (SELECT 1 FROM "changed") THEN
    PERFORM pg_notify('loom_timeline', "payload");
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "turns_notice_update" AFTER UPDATE ON "turns"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "loom_turns_notice"();
--> statement-breakpoint
CREATE TRIGGER "turns_notice_delete" AFTER DELETE ON "turns"
  REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "loom_turns_notice"();
--> statement-breakpoint
CREATE TRIGGER "inherited_undos_notice_insert" AFTER INSERT ON "inherited_undos"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "loom_turns_notice"();
--> statement-breakpoint
CREATE TRIGGER "inherited_undos_notice_update" AFTER UPDATE ON "inherited_undos"
  REFERENCING NEW TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "loom_turns_notice"();
--> statement-breakpoint
CREATE TRIGGER "inherited_undos_notice_delete" AFTER DELETE ON "inherited_undos"
  REFERENCING OLD TABLE AS "changed" FOR EACH STATEMENT EXECUTE FUNCTION "loom_turns_notice"();
