import { defineConfig } from "vitest/config";

// Colyseus core calls process.send through @pm2/io, which breaks the default `forks` pool;
// suites that boot a server share the matchmaker singleton and port 2568, so files run one at a time.
// Three projects: `main` is `npm test`; `load` (the load-test harness, its own minutes of load) is
// `npm run test:load`; `faults` (fault injection against Postgres and Redis instances each scenario
// starts itself) is `npm run test:faults`. `.ci/run` runs all three. `npx vitest run <file>` finds
// a file in any.
export default defineConfig({
  test: {
    pool: "threads",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: [
            "shared/**/*.test.ts",
            "server/**/*.test.ts",
            "client-sdk/**/*.test.ts",
            "test/**/*.test.ts",
          ],
          exclude: ["test/faults/**", "**/node_modules/**"],
        },
      },
      {
        extends: true,
        test: { name: "faults", include: ["test/faults/**/*.test.ts"], testTimeout: 120_000 },
      },
      { extends: true, test: { name: "load", include: ["loadtest/**/*.test.ts"] } },
    ],
  },
});
