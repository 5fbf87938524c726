-- Dice secrets (shared/src/fair-dice.ts). A universe that exists already keeps its seed for the
-- positions it has persisted (legacy_dice_through = its head), so its recorded rolls stay
-- reproducible, and rolls every later position from a new secret. gen_random_uuid() is core
-- Postgres (no pgcrypto needed; PGlite has it too): two of them give 244 random bits.
ALTER TABLE "universes" ALTER COLUMN "seed" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "universes" ADD COLUMN "dice_secret" text;--> statement-breakpoint
ALTER TABLE "universes" ADD COLUMN "dice_commitment" text;--> statement-breakpoint
ALTER TABLE "universes" ADD COLUMN "dice_revealed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "universes" ADD COLUMN "legacy_dice_through" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "universes" SET
  "dice_secret" = replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
  "legacy_dice_through" = "head_position";--> statement-breakpoint
UPDATE "universes" SET "dice_commitment" = encode(sha256(decode("dice_secret", 'hex')), 'hex');--> statement-breakpoint
ALTER TABLE "universes" ALTER COLUMN "dice_secret" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "universes" ALTER COLUMN "dice_commitment" SET NOT NULL;
