import { sql } from "drizzle-orm";
import { freezeShared } from "@loom/shared";
import { executePrepared, rowsOf, type Db } from "./rows.ts";
import { snapshotParts } from "./schema.ts";
import { PIECES_APART, type StateParts } from "./snapshot-parts.ts";

/**
 * The texts of snapshot parts this process has read, by universe and digest, for the snapshots
 * after, and their values while a state holds them: a part is written once and never changed, and
 * two snapshots a hundred turns apart share most of theirs, so a jump near an earlier one reads
 * and parses only what changed between them. The texts are bounded by characters, least
 * recently used dropped first (LOOM_PART_TEXTS_MB, 32 by default). What was damaged in the
 * database after it was read here is still found by `loom verify`, which reads the rows
 * themselves.
 */
export class PartTexts {
  private readonly texts = new Map<string, string>();
  private chars = 0;
  /**
   * Parts parsed before, frozen, for as long as a state holding them lives (the states kept for
   * jumps, a room's): a state read again shares them instead of parsing and keeping a copy.
   */
  private readonly values = new Map<string, WeakRef<object>>();
  private readonly collected = new FinalizationRegistry<string>((key) => {
    if (this.values.get(key)?.deref() === undefined) this.values.delete(key);
  });

  constructor(
    private readonly db: Db,
    private readonly budget = Number(process.env.LOOM_PART_TEXTS_MB || 32) * 2 ** 20,
  ) {}

  /**
   * A snapshot's document as its pieces (the skeleton's text between parts) and its parts' texts
   * (StateParts); null when a part is missing (the snapshot is damaged). The parts not read
   * before are read in one statement.
   */
  async cut(
    storedIn: string,
    skeleton: string,
    digests: readonly string[],
  ): Promise<Pick<StateParts, "pieces" | "documents"> | null> {
    const found: Array<string | null> = digests.map((digest) => this.take(`${storedIn}/${digest}`));
    const missing = digests.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      const rows = rowsOf<{ digest: string; document: string }>(
        await executePrepared(
          this.db,
          "snapshot_parts_by_digest",
          // a probe of the key per digest: with `digest = any(…)`, the planner may read every
          // part of the universe and filter them, tens of milliseconds on a long campaign
          sql`select p.digest::text as digest, p.document
            from unnest(${`{${missing.join(",")}}`}::uuid[]) as d(digest)
            join ${snapshotParts} p on p.universe_id = ${storedIn} and p.digest = d.digest`,
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
    return { pieces, documents: found as string[] };
  }

  /**
   * The value of a part whose text is `text` (as `cut` gave it), frozen: the one parsed before
   * while it lives, else parsed now.
   */
  value(storedIn: string, digest: string, text: string): object {
    const key = `${storedIn}/${digest}`;
    const known = this.values.get(key)?.deref();
    if (known !== undefined) return known;
    const value = freezeShared(JSON.parse(text) as object);
    this.values.set(key, new WeakRef(value));
    this.collected.register(value, key);
    return value;
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
