import { defineConfig } from "vitest/config";

// Colyseus core calls process.send through @pm2/io, which breaks the default `forks` pool;
// suites that boot a server share the matchmaker singleton and port 2568, so files run one at a time.
// Two projects: `main` is `npm test`; `load` (the load-test harness, its own minutes of load) is
// `npm run test:load`. `.ci/run` runs both. `npx vitest run <file>` finds a file in either.
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
        },
      },
      { extends: true, test: { name: "load", include: ["loadtest/**/*.test.ts"] } },
    ],
  },
});
