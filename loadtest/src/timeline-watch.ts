/**
 * What one member of a universe saw of its timeline: the broadcast turns in arrival order,
 * checked as they come (each must be the next position) and kept so the end of the run can
 * compare them with the stored timeline. Most members keep a 32-bit hash of each turn id, not
 * the id: 1,150 members each holding every id of a minute at 1,000 turns/s is 80 MB of strings,
 * and the load generator's garbage collector then competes with the server it measures. (A
 * different id that collides in the hash goes unnoticed with odds of 1 in 4 billion a turn.)
 */
export class TimelineWatch {
  /** The head in the first full state, when that state arrived before any turn. */
  joinHead: number | null = null;
  first: number | null = null;
  last = 0;
  gaps = 0;
  duplicates = 0;
  reordered = 0;
  private readonly seen: Array<string | number> = [];

  /** `keepIds`: keep the ids themselves (the member whose view stands in for the timeline). */
  constructor(private readonly keepIds = false) {}

  /** The state the member received on joining (before any turn) fixes where its view begins. */
  observeJoinState(head: number): void {
    if (this.first === null && this.joinHead === null) this.joinHead = head;
  }

  observe(position: number, id: string): void {
    if (this.first === null) {
      this.first = position;
      this.last = position;
      this.seen.push(this.key(id));
      return;
    }
    if (position === this.last + 1) {
      this.last = position;
      this.seen.push(this.key(id));
      return;
    }
    if (position <= this.last) {
      if (position >= this.first && this.seen[position - this.first] === this.key(id)) this.duplicates += 1;
      else this.reordered += 1;
      return;
    }
    // a jump: the positions in between never arrived
    this.gaps += position - this.last - 1;
    for (let p = this.last + 1; p < position; p++) this.seen.push("");
    this.last = position;
    this.seen.push(this.key(id));
  }

  get count(): number {
    return this.seen.length;
  }

  /** Whether this member saw `id` at `position`; undefined where it saw nothing. */
  sawAt(position: number, id: string): boolean | undefined {
    if (this.first === null || position < this.first || position > this.last) return undefined;
    const seen = this.seen[position - this.first];
    return seen === "" ? undefined : seen === this.key(id);
  }

  /** The id seen at a position, for a watch that keeps ids. */
  idAt(position: number): string | undefined {
    if (!this.keepIds) throw new Error("this watch keeps hashes of ids, not ids");
    if (this.first === null || position < this.first || position > this.last) return undefined;
    return (this.seen[position - this.first] as string) || undefined;
  }

  private key(id: string): string | number {
    return this.keepIds ? id : hash32(id);
  }
}

/** FNV-1a over the UTF-16 code units: a 32-bit fingerprint of a turn id. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
