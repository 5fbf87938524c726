import type { Turn } from "@loom/shared";

const KEEP_PER_CLIENT = 64;

/**
 * Remembers, per client key, the turns its recent sequence numbers produced, so a message
 * retried after a reconnect is answered with the original turn instead of applied twice.
 * Rebuilt from recent turns on hydration (turn inputs carry `clientKey` and `seq`).
 */
export class SeqLedger {
  private readonly byClient = new Map<string, { highest: number; turns: Map<number, Turn> }>();

  recordTurn(turn: Turn): void {
    const key = turn.input.clientKey;
    const seq = turn.input.seq;
    if (typeof key !== "string" || typeof seq !== "number") return;
    let entry = this.byClient.get(key);
    if (!entry) {
      entry = { highest: -1, turns: new Map() };
      this.byClient.set(key, entry);
    }
    entry.turns.set(seq, turn);
    entry.highest = Math.max(entry.highest, seq);
    if (entry.turns.size > KEEP_PER_CLIENT) {
      const oldest = Math.min(...entry.turns.keys());
      entry.turns.delete(oldest);
    }
  }

  /** The turn a (key, seq) already produced; "stale" when it is too old to tell; else undefined. */
  lookup(key: string, seq: number): Turn | "stale" | undefined {
    const entry = this.byClient.get(key);
    if (!entry) return undefined;
    const turn = entry.turns.get(seq);
    if (turn) return turn;
    if (entry.turns.size >= KEEP_PER_CLIENT && seq < Math.min(...entry.turns.keys())) return "stale";
    return undefined;
  }
}
