/**
 * Token generations as `verify` sees them, without a database read on every HTTP call and room
 * join: a player's generation is read at most once per `ttlMs` per process. A log-out-everywhere
 * handled by this process takes effect here at once (`set`); on other processes as its
 * announcement arrives (`raise`), or within `ttlMs` if it never does.
 */
export class GenerationCache {
  private readonly entries = new Map<string, { generation: number | null; readAt: number }>();

  constructor(
    private readonly load: (playerId: string) => Promise<number | null>,
    private readonly now: () => number,
    private readonly ttlMs = 2_000,
    private readonly maxEntries = 50_000,
  ) {}

  async get(playerId: string): Promise<number | null> {
    const entry = this.entries.get(playerId);
    const now = this.now();
    // a clock moved backwards (a test's, or the wall clock) must not keep an entry forever
    if (entry && now - entry.readAt < this.ttlMs && now >= entry.readAt) return entry.generation;
    let generation: number | null;
    try {
      generation = await this.load(playerId);
    } catch (error) {
      // the database does not answer: the generation last read stands until it does
      if (entry) return entry.generation;
      throw error;
    }
    // a log-out-everywhere that landed while this read was in flight wins over the read
    const raced = this.entries.get(playerId)?.generation;
    if (raced != null && (generation === null || raced > generation)) return raced;
    this.set(playerId, generation);
    return generation;
  }

  /**
   * A generation another process announced (a log-out-everywhere it handled). Announcements may
   * arrive out of order: an older one than this process knows changes nothing.
   */
  raise(playerId: string, generation: number): void {
    const known = this.entries.get(playerId)?.generation;
    if (known != null && known >= generation) return;
    this.set(playerId, generation);
  }

  set(playerId: string, generation: number | null): void {
    this.entries.delete(playerId);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(playerId, { generation, readAt: this.now() });
  }
}
