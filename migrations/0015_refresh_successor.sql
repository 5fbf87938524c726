-- A rotated refresh token names its successor, so that a renewal whose answer was lost can be
-- presented again within the reuse grace while that successor is unused (server/src/persist/accounts.ts).
-- Tokens rotated before this migration name none: presenting them again revokes their family, as before.
ALTER TABLE "refresh_tokens" ADD COLUMN "successor_hash" text;
