import { LocalPresence, type Presence } from "@colyseus/core";

/**
 * Room connections per player, across universes, tabs and processes, kept in the matchmaker's
 * presence (Redis with several processes, memory in one). Each connection is a hash field whose
 * value is when it lapses unless its room renews it, so a process that dies frees its players'
 * connections after `ttlMs`. Two joins at the very limit may both be refused (each sees the
 * other); neither can push a player past it.
 */
export class ConnectionLimit {
  constructor(
    private readonly presence: Presence,
    private readonly limit: number,
    private readonly ttlMs: number,
  ) {}

  private key(playerId: string): string {
    return `loom:connections:${playerId}`;
  }

  /** Counts the connection in; false (and not counted) when the player is at the limit. */
  async admit(playerId: string, connectionId: string, now: number): Promise<boolean> {
    if (this.limit === 0) return true;
    const key = this.key(playerId);
    await this.presence.hset(key, connectionId, String(now + this.ttlMs));
    const held = (await this.presence.hgetall(key)) ?? {};
    let live = 0;
    for (const [id, lapses] of Object.entries(held)) {
      if (Number(lapses) > now) live += 1;
      else await this.presence.hdel(key, id);
    }
    if (live <= this.limit) return true;
    await this.presence.hdel(key, connectionId);
    return false;
  }

  async renew(playerId: string, connectionId: string, now: number): Promise<void> {
    if (this.limit === 0) return;
    await this.presence.hset(this.key(playerId), connectionId, String(now + this.ttlMs));
  }

  async release(playerId: string, connectionId: string): Promise<void> {
    if (this.limit === 0) return;
    const key = this.key(playerId);
    await this.presence.hdel(key, connectionId);
    this.dropIfEmpty(key);
  }

  /**
   * Redis deletes a hash with its last field; the local presence keeps it, empty, so a process
   * would hold one for every player who ever joined a room. Read and deleted in one step (its
   * `hash` is public), so a connection counted in meanwhile is never deleted with it.
   */
  private dropIfEmpty(key: string): void {
    if (!(this.presence instanceof LocalPresence)) return;
    const held = this.presence.hash[key];
    if (held && Object.keys(held).length === 0) this.presence.del(key);
  }
}
