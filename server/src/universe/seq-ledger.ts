import type { Turn } from "@loom/shared";

const KEEP_PER_CLIENT = 64;
/**
 * Most clients kept, the least recently active forgotten first. Every join is a client of its own
 * (its session id is part of the key), and a universe open for months would otherwise keep every
 * one it ever had. Not by turns: in a busy universe a few seconds' outage is hundreds of turns, and
 * a client back from it retries what it sent; a client idle through two thousand others' turns and
 * joins is gone.
 */
const KEEP_CLIENTS = 2_000;

/** The client keys of HTTP writes (api/idempotency.ts): one message each, one key per request. */
export const REQUEST_CLIENT_PREFIX = "http:";
/** How many such writes are remembered: each key is used once, so they are kept by number. */
const KEEP_REQUESTS = 4_096;

interface ClientEntry {
  /** seq → the position of the turn it produced, oldest recorded first. */
  positions: Map<number, number>;
  /** The lowest seq kept, once the entry is full (older ones are too old to tell). */
  lowest: number;
}

/**
 * Remembers, per client key, the positions its recent sequence numbers produced, so a message
 * retried after a reconnect is answered with the original turn instead of applied twice.
 * Rebuilt from recent turns on hydration (turn inputs carry `clientKey` and `seq`).
 *
 * It keeps positions, not turns: the turn itself is read back when a retry comes. Keeping 64
 * turns for every client held each turn in memory for 64 of its player's actions (a minute at one
 * a second): at 1,000 players that was the server's largest live data, for the rare retry.
 */
export class SeqLedger {
  /** Least recently active client first. */
  private readonly byClient = new Map<string, ClientEntry>();
  /** An HTTP write's key → the position of its turn, oldest first. */
  private readonly requests = new Map<string, number>();

  constructor(private readonly maxClients = KEEP_CLIENTS) {}

  recordTurn(turn: Turn): void {
    const key = turn.input.clientKey;
    const seq = turn.input.seq;
    if (typeof key !== "string" || typeof seq !== "number") return;
    if (key.startsWith(REQUEST_CLIENT_PREFIX)) {
      this.requests.delete(key);
      this.requests.set(key, turn.position);
      if (this.requests.size > KEEP_REQUESTS) this.requests.delete(this.requests.keys().next().value!);
      return;
    }
    let entry = this.byClient.get(key);
    if (entry) this.byClient.delete(key);
    else entry = { positions: new Map(), lowest: -Infinity };
    this.byClient.set(key, entry);
    // one client joins at a time, so at most one is over the bound: no iterator made every turn
    if (this.byClient.size > this.maxClients) this.byClient.delete(this.byClient.keys().next().value!);
    entry.positions.set(seq, turn.position);
    if (entry.positions.size > KEEP_PER_CLIENT) {
      let oldest = Infinity;
      for (const kept of entry.positions.keys()) if (kept < oldest) oldest = kept;
      entry.positions.delete(oldest);
      entry.lowest = Infinity;
      for (const kept of entry.positions.keys()) if (kept < entry.lowest) entry.lowest = kept;
    }
  }

  /**
   * The position a (key, seq) already produced; "stale" when it is too old to tell; else
   * undefined (not applied yet).
   */
  lookup(key: string, seq: number): number | "stale" | undefined {
    if (key.startsWith(REQUEST_CLIENT_PREFIX)) return this.requests.get(key);
    const entry = this.byClient.get(key);
    if (!entry) return undefined;
    const position = entry.positions.get(seq);
    if (position !== undefined) return position;
    return seq < entry.lowest ? "stale" : undefined;
  }
}
