import { randomUUID } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { diceCommitment, diceFor, seededDice, verifyDice, type Turn } from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { createTurnStore, migrationsFolder } from "./index.ts";
import type { TurnStore } from "./turn-store.ts";

const databaseUrl = process.env.DATABASE_URL;
const scratch = mkdtempSync(join(tmpdir(), "loom-dice-upgrade-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The migrations as they stood before dice secrets: the journal cut before `dice_secrets`. */
function migrationsBeforeDice(): string {
  const folder = join(scratch, `migrations-${randomUUID()}`);
  mkdirSync(join(folder, "meta"), { recursive: true });
  const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta/_journal.json"), "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  const cut = journal.entries.findIndex((entry) => entry.tag.endsWith("_dice_secrets"));
  expect(cut).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify(journal));
  for (const file of readdirSync(migrationsFolder)) {
    if (journal.entries.some((entry) => file === `${entry.tag}.sql`))
      copyFileSync(join(migrationsFolder, file), join(folder, file));
  }
  return folder;
}

/** A root universe with 30 persisted positions and a branch of it at 10 with 25, as rows of the old schema. */
const OLD_ROWS = `
  insert into universes (id, name, seed, head_position, created_by)
    values ('old-root', 'Before', 77, 30, 'gm');
  insert into universes (id, name, seed, parent_id, branch_position, head_position, created_by)
    values ('old-branch', 'Before, branched', 77, 'old-root', 10, 25, 'gm')`;

const rolled = (turns: readonly Turn[]) =>
  turns.filter((turn) => turn.resolution).map((turn) => turn.position);

async function checkUpgraded(store: TurnStore): Promise<void> {
  const [root] = await store.diceChain("old-root");
  expect(root).toMatchObject({ from: 0, legacySeed: 77, legacyThrough: 30, revealedAt: null });
  expect(root!.secret).toMatch(/^[0-9a-f]{64}$/);
  expect(root!.commitment).toBe(diceCommitment(root!.secret));
  const record = (await store.getUniverse("old-root"))!;
  expect(record.diceCommitment).toBe(root!.commitment);
  expect(Object.keys(record)).not.toContain("seed");

  const branch = await store.diceChain("old-branch");
  expect(branch.map((d) => [d.universeId, d.from, d.legacyThrough, d.legacySeed])).toEqual([
    ["old-branch", 10, 25, 77],
    ["old-root", 0, 30, 77],
  ]);
  expect(branch[0]!.secret).not.toBe(root!.secret);

  // the 30 positions rolled before the upgrade roll the same again; later ones come from the secret
  const before = simulateCampaign({ seed: 3, turns: 30, dice: seededDice(77) });
  const after = simulateCampaign({ seed: 3, turns: 80, dice: diceFor(root!) });
  // (a turn of the 30 may be undone after them: its status is the later turns', not its roll's)
  const rolledAs = (turns: typeof before.turns) => turns.map(({ status: _, ...turn }) => turn);
  expect(rolledAs(after.turns.slice(0, 30))).toEqual(rolledAs(before.turns));
  const verified = verifyDice([root!], after.turns);
  expect(verified.ok).toBe(true);
  expect(verified.legacy).toEqual(rolled(before.turns));
  expect(verified.verified).toEqual(rolled(after.turns).filter((position) => position > 30));
  const seededOnly = simulateCampaign({ seed: 3, turns: 80, dice: seededDice(77) });
  expect(seededOnly.turns.slice(30).map((t) => t.resolution)).not.toEqual(
    after.turns.slice(30).map((t) => t.resolution),
  );

  // and a universe created after the upgrade has no legacy stretch at all
  const fresh = await store.createUniverse(
    { id: `new-${randomUUID()}`, name: "After", createdBy: "gm" },
    simulateCampaign({ seed: 1, turns: 0 }).genesis,
  );
  expect((await store.diceChain(fresh.id))[0]).toMatchObject({ legacyThrough: 0, legacySeed: null });
}

describe("upgrading universes that existed before dice secrets", () => {
  it("pglite: gives each one a secret and keeps its seed for the positions it had", async () => {
    const dataDir = join(scratch, "pglite");
    const old = new PGlite(dataDir);
    await migratePglite(drizzlePglite({ client: old }), { migrationsFolder: migrationsBeforeDice() });
    await old.exec(OLD_ROWS);
    await old.close();
    const store = await createTurnStore({ dataDir });
    try {
      await checkUpgraded(store);
    } finally {
      await store.close();
    }
  }, 60_000);

  it.skipIf(!databaseUrl)(
    "postgres: the same",
    async () => {
      const name = `loom_dice_upgrade_${randomUUID().replace(/-/g, "")}`;
      const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} });
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = new URL(databaseUrl!);
      url.pathname = `/${name}`;
      try {
        const old = postgres(url.href, { max: 1, onnotice: () => {} });
        await migratePostgres(drizzlePostgres({ client: old }), { migrationsFolder: migrationsBeforeDice() });
        await old.unsafe(OLD_ROWS);
        await old.end();
        const store = await createTurnStore({ databaseUrl: url.href });
        try {
          await checkUpgraded(store);
        } finally {
          await store.close();
        }
      } finally {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    },
    60_000,
  );
});
