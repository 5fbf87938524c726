import { defineConfig } from "vitest/config";

// Colyseus core calls process.send through @pm2/io, which breaks the default `forks` pool;
// suites that boot a server share the matchmaker singleton and port 2568, so files run one at a time.
export default defineConfig({
  test: {
    pool: "threads",
    fileParallelism: false,
    include: [
      "shared/**/*.test.ts",
      "server/**/*.test.ts",
      "client-sdk/**/*.test.ts",
      "loadtest/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
