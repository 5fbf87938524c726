import { sql } from "drizzle-orm";
import { rowsOf, type Db } from "./rows.ts";

/**
 * Whether this database's role may take rows without their foreign keys checked: it is a
 * superuser (PGlite's one user always is), who may set `session_replication_role`.
 */
export async function mayLeaveRowChecks(db: Db): Promise<boolean> {
  const result = await db.execute(sql`select current_setting('is_superuser') as superuser`);
  return rowsOf<{ superuser: string }>(result)[0]?.superuser === "on";
}

/** mayLeaveRowChecks asked once, and again only after it failed. */
export function askedOnce(db: Db): () => Promise<boolean> {
  let answer: Promise<boolean> | null = null;
  return () =>
    (answer ??= mayLeaveRowChecks(db).catch((error: unknown) => {
      answer = null;
      throw error;
    }));
}

/**
 * Turns and snapshots go in without their foreign keys checked where the role may (`replica`, in
 * the transaction, around the COPYs alone), when the transaction has already settled the one key
 * they name: an import's rows name the universe its transaction made, an append's the universes
 * whose heads it moved (a row locked until the commit, so it cannot go). The check, a trigger per
 * row, is a fifth of PGlite's COPY of a turn and less on Postgres. No other trigger fires on an
 * insert into `turns` or `snapshots`; one that is added must not be needed by these rows. Every
 * other statement runs with the checks and triggers on (`turns_notice_update` and the like).
 */
export async function rowChecks(tx: Db, on: boolean): Promise<void> {
  await tx.execute(
    on ? sql`set local session_replication_role = origin` : sql`set local session_replication_role = replica`,
  );
}
