import { count, desc, eq, inArray, sql } from "drizzle-orm";
import { checksum } from "@loom/shared";
import type { UniverseState } from "@loom/shared";
import type { Chain } from "./ancestry.ts";
import { newDiceSecret } from "./dice-secret.ts";
import { rowsOf, toUniverse } from "./rows.ts";
import type { Db } from "./rows.ts";
import { universes } from "./schema.ts";
import { upsertSnapshots } from "./snapshot-writes.ts";
import { NotFoundError, TooManyUniversesError } from "./turn-store.ts";
import type { NewUniverse, StoredDice, UniverseRecord } from "./turn-store.ts";

/** The advisory lock's first key for a creator's count of universes (its second: the creator). */
const CREATOR_LOCK = 0x554e;

/**
 * Refuses a universe its creator may not add (`max` created already), holding a lock on the
 * creator until the transaction ends: two creations at once are counted one after the other.
 */
async function withinCreatorCap(tx: Db, createdBy: string, max: number | undefined): Promise<void> {
  if (max === undefined) return;
  await tx.execute(sql`select pg_advisory_xact_lock(${CREATOR_LOCK}, hashtext(${createdBy}))`);
  const [held] = await tx.select({ n: count() }).from(universes).where(eq(universes.createdBy, createdBy));
  if ((held?.n ?? 0) >= max) throw new TooManyUniversesError(createdBy, max);
}

/** A universe starts at head 0 with its genesis snapshot and its own dice secret, written together. */
export async function createUniverse(
  db: Db,
  universe: NewUniverse,
  genesis: UniverseState,
  now: Date,
  maxByCreator?: number,
): Promise<UniverseRecord> {
  return db.transaction(async (tx) => {
    await withinCreatorCap(tx, universe.createdBy, maxByCreator);
    const [row] = await tx
      .insert(universes)
      .values({ ...universe, ...newDiceSecret(), settings: universe.settings ?? {}, createdAt: now })
      .returning();
    await upsertSnapshots(tx, [
      {
        universeId: universe.id,
        position: 0,
        state: genesis,
        checksum: checksum(genesis),
        reason: "genesis",
        createdAt: now.toISOString(),
      },
    ]);
    return toUniverse(row!);
  });
}

export async function getUniverse(db: Db, id: string): Promise<UniverseRecord | null> {
  const [row] = await db.select().from(universes).where(eq(universes.id, id));
  return row ? toUniverse(row) : null;
}

export async function descendsFrom(db: Db, universeId: string, ancestorId: string): Promise<boolean> {
  // a branch names its parent, so the way up is a chain; its length is bounded as a guard only
  const rows = await db.execute(sql`
    with recursive line(id, parent_id, depth) as (
      select id, parent_id, 0 from universes where id = ${universeId}
      union all
      select u.id, u.parent_id, line.depth + 1 from universes u join line on u.id = line.parent_id
      where line.id <> ${ancestorId} and line.depth < 10000
    )
    select exists(select 1 from line where id = ${ancestorId}) as found`);
  return rowsOf<{ found: boolean }>(rows)[0]?.found === true;
}

export async function listUniverses(
  db: Db,
  options: { limit?: number; createdBy?: string } = {},
): Promise<UniverseRecord[]> {
  const rows = await db
    .select()
    .from(universes)
    .where(options.createdBy === undefined ? undefined : eq(universes.createdBy, options.createdBy))
    .orderBy(desc(universes.createdAt), desc(universes.id))
    .limit(Math.max(1, Math.min(options.limit ?? 100, 1000)));
  return rows.map(toUniverse);
}

/**
 * Copy-on-write: one row pointing at the parent and the last shared position. The branch rolls
 * its own positions from a secret of its own; the shared ones keep the parent's dice (see
 * `diceChain`), so re-executing a shared turn rolls the same dice in both timelines.
 */
export async function branchUniverse(
  db: Db,
  input: {
    id: string;
    parentId: string;
    position: number;
    name: string;
    createdBy: string;
    settings?: Record<string, unknown>;
    maxByCreator?: number;
  },
  now: Date,
): Promise<UniverseRecord> {
  const parent = await getUniverse(db, input.parentId);
  if (!parent) throw new NotFoundError("universe", input.parentId);
  if (!Number.isInteger(input.position) || input.position < 0 || input.position > parent.headPosition) {
    throw new RangeError(
      `cannot branch ${input.parentId} at ${input.position}: its head is ${parent.headPosition}`,
    );
  }
  return db.transaction(async (tx) => {
    await withinCreatorCap(tx, input.createdBy, input.maxByCreator);
    return insertBranch(tx, parent, input, now);
  });
}

async function insertBranch(
  db: Db,
  parent: UniverseRecord,
  input: {
    id: string;
    position: number;
    name: string;
    createdBy: string;
    settings?: Record<string, unknown>;
  },
  now: Date,
): Promise<UniverseRecord> {
  const [row] = await db
    .insert(universes)
    .values({
      id: input.id,
      name: input.name,
      ...newDiceSecret(),
      parentId: parent.id,
      branchPosition: input.position,
      headPosition: input.position,
      settings: input.settings ? { ...parent.settings, ...input.settings } : parent.settings,
      createdBy: input.createdBy,
      createdAt: now,
    })
    .returning();
  return toUniverse(row!);
}

export async function headPosition(db: Db, universeId: string): Promise<number> {
  const [row] = await db
    .select({ head: universes.headPosition })
    .from(universes)
    .where(eq(universes.id, universeId));
  if (!row) throw new NotFoundError("universe", universeId);
  return row.head;
}

/**
 * The dice of each stretch of a timeline, the universe's own first, then its ancestors' (secrets
 * included: for the universe's authority and for disclosure after a reveal, never for a response
 * as they are).
 */
export async function diceChain(db: Db, chain: Chain): Promise<StoredDice[]> {
  const rows = await db
    .select({
      id: universes.id,
      secret: universes.diceSecret,
      commitment: universes.diceCommitment,
      revealedAt: universes.diceRevealedAt,
      legacySeed: universes.seed,
      legacyThrough: universes.legacyDiceThrough,
    })
    .from(universes)
    .where(
      inArray(
        universes.id,
        chain.map((segment) => segment.universeId),
      ),
    );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return [...chain].reverse().map((segment) => {
    const row = byId.get(segment.universeId);
    if (!row) throw new NotFoundError("universe", segment.universeId);
    return {
      universeId: row.id,
      from: segment.after,
      commitment: row.commitment,
      revealedAt: row.revealedAt ? row.revealedAt.toISOString() : null,
      secret: row.secret,
      legacyThrough: row.legacySeed === null ? 0 : row.legacyThrough,
      legacySeed: row.legacySeed,
    };
  });
}

/** Marks the universe's dice secret revealed (once: a second reveal keeps the first time). */
export async function revealDice(db: Db, universeId: string, now: Date): Promise<string> {
  const [row] = await db
    .update(universes)
    .set({ diceRevealedAt: sql`coalesce(${universes.diceRevealedAt}, ${now.toISOString()}::timestamptz)` })
    .where(eq(universes.id, universeId))
    .returning({ revealedAt: universes.diceRevealedAt });
  if (!row?.revealedAt) throw new NotFoundError("universe", universeId);
  return row.revealedAt.toISOString();
}
