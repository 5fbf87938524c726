import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes reviewed SQL into migrations/; the server applies it at start-up
// with drizzle's migrator, identically on Postgres and PGlite.
export default defineConfig({
  dialect: "postgresql",
  schema: "./server/src/persist/schema.ts",
  out: "./migrations",
});
