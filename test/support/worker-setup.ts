import postgres from "postgres";

/**
 * Test files run in several worker threads at once (vitest.config.ts). Each worker gets resources
 * of its own, so two files running side by side never meet: its own block of test ports, its own
 * Postgres database and its own Redis database. Worker 1 keeps the configured ones, so a single
 * file (`npx vitest run <file>`) runs exactly as configured; worker N shifts the ports by
 * (N - 1) × PORT_STRIDE, uses database `<name>_w<N>` (created here when missing, migrated by the
 * first store that opens it) and Redis database `<db> + N - 1`.
 *
 * Every variable is derived from the value the run started with, kept in LOOM_TEST_BASE_*, so
 * this can run before every file in a worker and always lands on the same values. Child
 * processes inherit the worker's variables, so a server a test spawns uses the same resources.
 */

/** Test servers listen on ports 2589–2688 (TEST_PORTS in server.ts), so blocks of 100 never overlap. */
const PORT_STRIDE = 100;

/** A project running beside `main` names a slot of its own (LOOM_TEST_SLOT, vitest.config.ts). */
const slot = Number(process.env.LOOM_TEST_SLOT ?? process.env.VITEST_POOL_ID ?? 1);

function base(name: string): string | undefined {
  const kept = `LOOM_TEST_BASE_${name}`;
  if (process.env[kept] === undefined) process.env[kept] = process.env[name] ?? "";
  return process.env[kept] || undefined;
}

const portOffset = Number(base("LOOM_TEST_PORT_OFFSET") ?? 0);
const databaseUrl = base("DATABASE_URL");
const redisUrl = base("REDIS_URL");

// testPort() refuses a port outside the block, which would meet the next worker's
process.env.LOOM_TEST_WORKER_PORTS = "1";
if (slot > 1) {
  process.env.LOOM_TEST_PORT_OFFSET = String(portOffset + (slot - 1) * PORT_STRIDE);
  if (databaseUrl) process.env.DATABASE_URL = await workerDatabase(databaseUrl, slot);
  if (redisUrl) process.env.REDIS_URL = workerRedis(redisUrl, slot);
}

/** The worker's own database beside the configured one, created on first use. */
async function workerDatabase(configured: string, n: number): Promise<string> {
  const url = new URL(configured);
  const name = `${decodeURIComponent(url.pathname.slice(1)) || "postgres"}_w${n}`;
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`cannot derive a worker database from ${configured}`);
  url.pathname = `/${name}`;
  const admin = postgres(configured, { max: 1, onnotice: () => undefined });
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!found) {
      // two runs of the suite may race to create it; the loser finds it there
      await admin.unsafe(`CREATE DATABASE ${name}`).catch(async (error: unknown) => {
        const [now] = await admin`select 1 from pg_database where datname = ${name}`;
        if (!now) throw error;
      });
    }
  } finally {
    await admin.end();
  }
  return url.href;
}

/** The configured Redis URL with database number `configured + n - 1`. */
function workerRedis(configured: string, n: number): string {
  const url = new URL(configured);
  const db = Number(url.pathname.slice(1) || 0) + n - 1;
  url.pathname = `/${db}`;
  return url.href;
}
