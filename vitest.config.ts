import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Colyseus core calls process.send through @pm2/io, which breaks the default `forks` pool, so
// files run in worker threads; each thread has its own module instances, hence its own
// matchmaker. `main` runs LOOM_TEST_WORKERS files at once (default 3: most files wait on servers,
// sockets and timers more than they compute, so three keep two cores busy; 1 runs them one by
// one, more suit a machine with cores to spare); test/support/worker-setup.ts gives every worker
// its own ports, Postgres database and Redis database.
//
// `browser` runs the files that drive Chromium, one at a time (two browsers at once take twice as
// long each; a browser file keeps about a third of the machine busy, its pages waiting on timers),
// in a slot of its own, so that `npm test` runs it in a vitest of its own beside `main`
// (scripts/test.mjs `--beside`: vitest itself runs a one-at-a-time project after the others).
// Files that measure time are `main-serial`, run alone once both are done (`--after`). `npm test`
// runs the three; `load` (the load-test harness, its own minutes of load) is `npm run test:load`;
// `faults` (fault injection against Postgres and Redis instances each file starts itself) is
// `npm run test:faults`, both one file at a time. `.ci/run` runs all. `npx vitest run <file>`
// finds a file in any.
const BROWSER = ["test/browser.test.ts", "test/browser-people.test.ts", "test/browser-gm.test.ts"];
const SERIAL = [
  // acks must come back within a bound while a narrator endpoint stalls
  "test/narration.test.ts",
  // event-loop and timeout measurements
  "server/src/metrics.test.ts",
  "server/src/narrator/openai-narrator.test.ts",
];
const MAIN = ["shared/**/*.test.ts", "server/**/*.test.ts", "client-sdk/**/*.test.ts", "test/**/*.test.ts"];
const workers = Number(process.env.LOOM_TEST_WORKERS ?? 3);
// In-memory databases start from an image of a migrated one (server/src/persist/index.ts): the
// suite opens hundreds, and initdb plus the migrations cost seconds of CPU each.
const pgliteImages = join(tmpdir(), "loom-pglite-images");

// and with small shared buffers, which PGlite clears as it starts
const env = {
  LOOM_PGLITE_IMAGE_DIR: pgliteImages,
  LOOM_PGLITE_SHARED_BUFFERS: process.env.LOOM_PGLITE_SHARED_BUFFERS ?? "16MB",
};

export default defineConfig({
  test: {
    pool: "threads",
    env,
    // a machine shared with other work can take minutes to boot an embedded server; a test waits
    // on conditions, so a longer bound costs nothing unless it fails
    hookTimeout: Number(process.env.LOOM_TEST_HOOK_TIMEOUT_MS ?? 60_000),
    testTimeout: Number(process.env.LOOM_TEST_TIMEOUT_MS ?? 90_000),
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: MAIN,
          exclude: ["test/faults/**", "**/node_modules/**", ...BROWSER, ...SERIAL],
          maxWorkers: workers,
          fileParallelism: workers > 1,
          setupFiles: ["test/support/worker-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: BROWSER,
          fileParallelism: false,
          // the slot after main's workers: ports, Postgres and Redis databases of its own
          env: { ...env, LOOM_TEST_SLOT: String(workers + 1) },
          setupFiles: ["test/support/worker-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "main-serial",
          include: SERIAL,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          testTimeout: 120_000,
          fileParallelism: false,
          // the files run one after another in one worker that imports the SDK, the load
          // generator and the harness once (each file starts its own instances and servers)
          isolate: false,
        },
      },
      { extends: true, test: { name: "load", include: ["loadtest/**/*.test.ts"], fileParallelism: false } },
    ],
  },
});
