import { eq, inArray } from "drizzle-orm";
import type { Db } from "./rows.ts";
import { inheritedUndos, universes } from "./schema.ts";
import { NotFoundError } from "./turn-store.ts";

/**
 * Where a timeline's positions are stored. A root universe is one segment; a branch is its
 * parent's segments cut at the branch position, followed by its own. Turns of a segment are
 * the rows of `universeId` at positions in (after, through]; its snapshots lie in [after, through].
 */
export interface Segment {
  universeId: string;
  after: number;
  through: number;
}

/** The segments of a timeline, root first; the last one is the universe's own (open-ended). */
export type Chain = readonly Segment[];

/**
 * Parent and branch position never change once a universe exists, so a chain, once read, is
 * cached: jumps and hydration then cost no extra query. Up to `maxChains` of them, least
 * recently used dropped first: a process that runs for months reads universes without end, and a
 * chain dropped is only read again.
 */
export class Ancestry {
  private readonly chains = new Map<string, Promise<Chain>>();

  constructor(
    private readonly db: Db,
    private readonly maxChains = 10_000,
  ) {}

  chain(universeId: string): Promise<Chain> {
    let chain = this.chains.get(universeId);
    if (chain) {
      this.chains.delete(universeId);
      this.chains.set(universeId, chain);
      return chain;
    }
    chain = this.load(universeId);
    this.chains.set(universeId, chain);
    const loaded = chain;
    chain.catch(() => {
      if (this.chains.get(universeId) === loaded) this.chains.delete(universeId);
    });
    while (this.chains.size > this.maxChains) this.chains.delete(this.chains.keys().next().value!);
    return chain;
  }

  private async load(universeId: string): Promise<Chain> {
    const [row] = await this.db
      .select({ parentId: universes.parentId, branchPosition: universes.branchPosition })
      .from(universes)
      .where(eq(universes.id, universeId));
    if (!row) throw new NotFoundError("universe", universeId);
    if (row.parentId === null || row.branchPosition === null)
      return [{ universeId, after: 0, through: Infinity }];
    const at = row.branchPosition;
    const inherited = (await this.chain(row.parentId))
      .filter((segment) => segment.after <= at)
      .map((segment) => ({ ...segment, through: Math.min(segment.through, at) }));
    return [...inherited, { universeId, after: at, through: Infinity }];
  }

  /**
   * Positions this timeline sees undone among those it shares with its ancestors: marks by a
   * branch on inherited turns, each visible while the undo turn itself is part of the timeline.
   */
  async inheritedUndone(chain: Chain): Promise<Set<number>> {
    const branches = chain.slice(1);
    if (branches.length === 0) return new Set();
    const marks = await this.db
      .select()
      .from(inheritedUndos)
      .where(
        inArray(
          inheritedUndos.universeId,
          branches.map((segment) => segment.universeId),
        ),
      );
    const through = new Map(branches.map((segment) => [segment.universeId, segment.through]));
    return new Set(
      marks
        .filter((mark) => mark.undoneBy <= (through.get(mark.universeId) ?? -1))
        .map((mark) => mark.position),
    );
  }
}

/** The segment that stores `position`, if the timeline reaches it. */
export function segmentOf(chain: Chain, position: number): Segment | undefined {
  return chain.find((segment) => segment.after < position && position <= segment.through);
}

export interface Slice {
  segment: Segment;
  /** The positions (after, through] of the segment that fall in the range asked for. */
  after: number;
  through: number;
}

/** The parts of (from, to] each segment stores, in ascending order. */
export function slices(chain: Chain, from: number, to: number): Slice[] {
  const parts: Slice[] = [];
  for (const segment of chain) {
    const after = Math.max(from, segment.after);
    const through = Math.min(to, segment.through);
    if (after < through) parts.push({ segment, after, through });
  }
  return parts;
}

/** Whether a stored row's undo mark is part of the timeline that reads it through `segment`. */
export function undoneIn(segment: Segment, undoneBy: number | null): boolean {
  return undoneBy !== null && undoneBy <= segment.through;
}
