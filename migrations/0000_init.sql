CREATE TYPE "public"."actor_kind" AS ENUM('player', 'gm', 'system');--> statement-breakpoint
CREATE TYPE "public"."run_state" AS ENUM('active', 'paused', 'completed', 'abandoned');--> statement-breakpoint
CREATE TYPE "public"."snapshot_reason" AS ENUM('genesis', 'interval_turns', 'interval_deltas', 'scene_end', 'conflict_end', 'session_end', 'quest_completed', 'manual');--> statement-breakpoint
CREATE TYPE "public"."turn_kind" AS ENUM('action', 'choice', 'custom', 'combat', 'world_event', 'system', 'undo', 'retcon', 'session_start', 'session_end');--> statement-breakpoint
CREATE TYPE "public"."turn_status" AS ENUM('applied', 'undone');--> statement-breakpoint
CREATE TYPE "public"."universe_status" AS ENUM('active', 'archived');--> statement-breakpoint
CREATE TABLE "characters" (
	"id" text PRIMARY KEY NOT NULL,
	"player_id" text NOT NULL,
	"universe_id" text NOT NULL,
	"name" text NOT NULL,
	"sheet" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inherited_undos" (
	"universe_id" text NOT NULL,
	"position" integer NOT NULL,
	"undone_by" integer NOT NULL,
	CONSTRAINT "inherited_undos_pkey" PRIMARY KEY("universe_id","position")
);
--> statement-breakpoint
CREATE TABLE "play_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"universe_id" text NOT NULL,
	"start_position" integer NOT NULL,
	"end_position" integer,
	"summary" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "players" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "progression" (
	"player_id" text PRIMARY KEY NOT NULL,
	"runs_completed" integer DEFAULT 0 NOT NULL,
	"turns_in_completed_runs" integer DEFAULT 0 NOT NULL,
	"milestones" integer DEFAULT 0 NOT NULL,
	"metaconcepts" text[] DEFAULT '{}'::text[] NOT NULL,
	"completed_run_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"unlocks" text[] DEFAULT '{}'::text[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"player_id" text NOT NULL,
	"character_id" text NOT NULL,
	"universe_id" text NOT NULL,
	"state" "run_state" DEFAULT 'active' NOT NULL,
	"turn_count" integer DEFAULT 0 NOT NULL,
	"session_count" integer DEFAULT 0 NOT NULL,
	"milestones" integer DEFAULT 0 NOT NULL,
	"therapeutic_focus" text,
	"completion_reason" text,
	"completed_at_position" integer,
	"last_session_end_position" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshots" (
	"universe_id" text NOT NULL,
	"position" integer NOT NULL,
	"reason" "snapshot_reason" NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"checksum" text NOT NULL,
	"state" jsonb NOT NULL,
	CONSTRAINT "snapshots_pkey" PRIMARY KEY("universe_id","position")
);
--> statement-breakpoint
CREATE TABLE "turns" (
	"universe_id" text NOT NULL,
	"position" integer NOT NULL,
	"undone_by" integer,
	"created_at" timestamp with time zone NOT NULL,
	"actor" "actor_kind" NOT NULL,
	"kind" "turn_kind" NOT NULL,
	"status" "turn_status" DEFAULT 'applied' NOT NULL,
	"id" text NOT NULL,
	"run_id" text,
	"character_id" text,
	"player_id" text,
	"input" jsonb NOT NULL,
	"resolution" jsonb,
	"events" jsonb NOT NULL,
	"deltas" jsonb NOT NULL,
	"narration" jsonb,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce("input"->>'text', '') || ' ' || coalesce("input"->>'description', '') || ' ' || coalesce("input"->>'note', '') || ' ' || jsonb_path_query_array("events", '$[*].description')::text || ' ' || coalesce("narration"->>'text', ''))) STORED,
	CONSTRAINT "turns_pkey" PRIMARY KEY("universe_id","position")
);
--> statement-breakpoint
CREATE TABLE "universes" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"seed" bigint NOT NULL,
	"parent_id" text,
	"branch_position" integer,
	"head_position" integer DEFAULT 0 NOT NULL,
	"status" "universe_status" DEFAULT 'active' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "characters" ADD CONSTRAINT "characters_player_id_players_id_fk" FOREIGN KEY ("player_id") REFERENCES "public"."players"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "characters" ADD CONSTRAINT "characters_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inherited_undos" ADD CONSTRAINT "inherited_undos_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "play_sessions" ADD CONSTRAINT "play_sessions_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "play_sessions" ADD CONSTRAINT "play_sessions_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "progression" ADD CONSTRAINT "progression_player_id_players_id_fk" FOREIGN KEY ("player_id") REFERENCES "public"."players"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_player_id_players_id_fk" FOREIGN KEY ("player_id") REFERENCES "public"."players"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_character_id_characters_id_fk" FOREIGN KEY ("character_id") REFERENCES "public"."characters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turns" ADD CONSTRAINT "turns_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "universes" ADD CONSTRAINT "universes_parent_id_universes_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "characters_player_idx" ON "characters" USING btree ("player_id");--> statement-breakpoint
CREATE INDEX "characters_universe_idx" ON "characters" USING btree ("universe_id");--> statement-breakpoint
CREATE INDEX "play_sessions_run_idx" ON "play_sessions" USING btree ("run_id","start_position");--> statement-breakpoint
CREATE INDEX "runs_player_idx" ON "runs" USING btree ("player_id");--> statement-breakpoint
CREATE INDEX "runs_universe_idx" ON "runs" USING btree ("universe_id");--> statement-breakpoint
CREATE INDEX "runs_character_idx" ON "runs" USING btree ("character_id");--> statement-breakpoint
CREATE UNIQUE INDEX "turns_id_idx" ON "turns" USING btree ("id");--> statement-breakpoint
CREATE INDEX "turns_character_idx" ON "turns" USING btree ("universe_id","character_id","position");--> statement-breakpoint
CREATE INDEX "turns_run_idx" ON "turns" USING btree ("universe_id","run_id","position");--> statement-breakpoint
CREATE INDEX "turns_search_idx" ON "turns" USING gin ("search");--> statement-breakpoint
CREATE INDEX "universes_parent_idx" ON "universes" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "universes_created_by_idx" ON "universes" USING btree ("created_by","created_at");