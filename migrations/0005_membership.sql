CREATE TYPE "public"."universe_visibility" AS ENUM('private', 'public');--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"player_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" integer,
	"response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY("player_id","key")
);
--> statement-breakpoint
CREATE TABLE "universe_invites" (
	"code" text PRIMARY KEY NOT NULL,
	"universe_id" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"max_uses" integer,
	"uses" integer DEFAULT 0 NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "universe_members" (
	"universe_id" text NOT NULL,
	"player_id" text NOT NULL,
	"invite_code" text,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone,
	CONSTRAINT "universe_members_pkey" PRIMARY KEY("universe_id","player_id")
);
--> statement-breakpoint
ALTER TABLE "universes" ADD COLUMN "visibility" "universe_visibility" DEFAULT 'private' NOT NULL;--> statement-breakpoint
ALTER TABLE "universe_invites" ADD CONSTRAINT "universe_invites_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "universe_members" ADD CONSTRAINT "universe_members_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "universe_members" ADD CONSTRAINT "universe_members_player_id_players_id_fk" FOREIGN KEY ("player_id") REFERENCES "public"."players"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "universe_invites_universe_idx" ON "universe_invites" USING btree ("universe_id");--> statement-breakpoint
CREATE INDEX "universe_members_player_idx" ON "universe_members" USING btree ("player_id");--> statement-breakpoint
-- Universes were open to everyone before membership: whoever already has a character in one stays in it.
INSERT INTO "universe_members" ("universe_id", "player_id", "joined_at")
SELECT "universe_id", "player_id", min("created_at") FROM "characters" GROUP BY "universe_id", "player_id"
ON CONFLICT DO NOTHING;
