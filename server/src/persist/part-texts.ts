import { sql } from "drizzle-orm";
import { executePrepared, rowsOf, type Db } from "./rows.ts";
import { snapshotParts } from "./schema.ts";
import { PIECES_APART } from "./snapshot-parts.ts";

/**
 * The texts of snapshot parts this process has read, by universe and digest, for the snapshots
 * after: a part is written once and never changed, and two snapshots a hundred turns apart share
 * most of theirs, so a jump near an earlier one reads only what changed between them. Bounded by
 * characters, least recently used dropped first (LOOM_PART_TEXTS_MB, 32 by default). What was
 * damaged in the database after it was read here is still found by `loom verify`, which reads
 * the rows themselves.
 */
export class PartTexts {
  private readonly texts = new Map<string, string>();
  private chars = 0;

  constructor(
    private readonly db: Db,
    private readonly budget = Number(process.env.LOOM_PART_TEXTS_MB || 32) * 2 ** 20,
  ) {}

  /**
   * The document a snapshot's skeleton and parts make, as `loom_snapshot_document` makes it; null
   * when a part is missing (the snapshot is damaged). The parts not read before are read in one
   * statement.
   */
  async document(storedIn: string, skeleton: string, digests: readonly string[]): Promise<string | null> {
    const found: Array<string | null> = digests.map((digest) => this.take(`${storedIn}/${digest}`));
    const missing = digests.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      const rows = rowsOf<{ digest: string; document: string }>(
        await executePrepared(
          this.db,
          "snapshot_parts_by_digest",
          sql`select p.digest::text as digest, p.document from ${snapshotParts} p
            where p.universe_id = ${storedIn} and p.digest = any(${`{${missing.join(",")}}`}::uuid[])`,
        ),
      );
      const read = new Map(rows.map((row) => [row.digest, row.document]));
      digests.forEach((digest, i) => {
        if (found[i] !== null) return;
        const text = read.get(digest);
        if (text === undefined) return;
        found[i] = text;
        this.keep(`${storedIn}/${digest}`, text);
      });
    }
    const pieces = skeleton.split(PIECES_APART);
    if (found.includes(null) || pieces.length !== digests.length + 1) return null;
    let document = pieces[0]!;
    for (let i = 0; i < found.length; i++) document += found[i]! + pieces[i + 1]!;
    return document;
  }

  private take(key: string): string | null {
    const text = this.texts.get(key);
    if (text === undefined) return null;
    this.texts.delete(key);
    this.texts.set(key, text);
    return text;
  }

  private keep(key: string, text: string): void {
    if (text.length > this.budget || this.texts.has(key)) return;
    this.texts.set(key, text);
    this.chars += text.length;
    for (const [oldest, dropped] of this.texts) {
      if (this.chars <= this.budget) break;
      this.texts.delete(oldest);
      this.chars -= dropped.length;
    }
  }
}
