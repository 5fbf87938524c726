CREATE TABLE "universe_leases" (
	"universe_id" text PRIMARY KEY NOT NULL,
	"lease_token" bigint DEFAULT 0 NOT NULL,
	"settled_token" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
