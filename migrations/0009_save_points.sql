CREATE TABLE "save_points" (
	"universe_id" text NOT NULL,
	"player_id" text NOT NULL,
	"name" text NOT NULL,
	"position" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "save_points_pkey" PRIMARY KEY("universe_id","player_id","name")
);
--> statement-breakpoint
ALTER TABLE "save_points" ADD CONSTRAINT "save_points_universe_id_universes_id_fk" FOREIGN KEY ("universe_id") REFERENCES "public"."universes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "save_points" ADD CONSTRAINT "save_points_player_id_players_id_fk" FOREIGN KEY ("player_id") REFERENCES "public"."players"("id") ON DELETE no action ON UPDATE no action;