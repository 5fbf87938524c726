import { and, eq, lt, sql } from "drizzle-orm";
import type { Db } from "./rows.ts";
import { universeLeases } from "./schema.ts";

/** What the database knows of a universe's ownership leases (schema.ts, `universe_leases`). */
export interface LeaseRecord {
  /** The highest fencing token any owner registered; 0 before the first. */
  leaseToken: number;
  /** The highest token whose owner released the universe with every acknowledged turn persisted. */
  settledToken: number;
}

/**
 * The fencing tokens' high-water mark in the database. A live store counts tokens itself, but one
 * that lost its data counts from 1 again, and its write-ahead streams are gone with the turns
 * they held. The ledger survives that: an owner registers each token it takes (tokens never go
 * back), and marks it settled when it gives the universe up with nothing left to persist.
 */
export interface LeaseLedger {
  read(universeId: string): Promise<LeaseRecord>;
  /** Records `token` as the newest; false when a token as large was registered already. */
  register(universeId: string, token: number): Promise<boolean>;
  /** The owner of `token` persisted everything it acknowledged and gives the universe up. */
  settle(universeId: string, token: number): Promise<void>;
}

export class DrizzleLeaseLedger implements LeaseLedger {
  constructor(private readonly db: Db) {}

  async read(universeId: string): Promise<LeaseRecord> {
    const [row] = await this.db
      .select({ leaseToken: universeLeases.leaseToken, settledToken: universeLeases.settledToken })
      .from(universeLeases)
      .where(eq(universeLeases.universeId, universeId));
    return row ?? { leaseToken: 0, settledToken: 0 };
  }

  async register(universeId: string, token: number): Promise<boolean> {
    const rows = await this.db
      .insert(universeLeases)
      .values({ universeId, leaseToken: token })
      .onConflictDoUpdate({
        target: universeLeases.universeId,
        set: { leaseToken: token, updatedAt: sql`now()` },
        where: lt(universeLeases.leaseToken, token),
      })
      .returning({ leaseToken: universeLeases.leaseToken });
    return rows.length > 0;
  }

  async settle(universeId: string, token: number): Promise<void> {
    // only the newest owner settles: an older one's release says nothing of a newer owner's turns
    await this.db
      .update(universeLeases)
      .set({ settledToken: token, updatedAt: sql`now()` })
      .where(and(eq(universeLeases.universeId, universeId), eq(universeLeases.leaseToken, token)));
  }
}
