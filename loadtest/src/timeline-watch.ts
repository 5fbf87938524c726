/**
 * What one member of a universe saw of its timeline: the broadcast turns in arrival order,
 * checked as they come (each must be the next position) and kept by id so the end of the run
 * can compare them with the stored timeline.
 */
export class TimelineWatch {
  /** The head in the first full state, when that state arrived before any turn. */
  joinHead: number | null = null;
  first: number | null = null;
  last = 0;
  gaps = 0;
  duplicates = 0;
  reordered = 0;
  private readonly ids: string[] = [];

  /** The state the member received on joining (before any turn) fixes where its view begins. */
  observeJoinState(head: number): void {
    if (this.first === null && this.joinHead === null) this.joinHead = head;
  }

  observe(position: number, id: string): void {
    if (this.first === null) {
      this.first = position;
      this.last = position;
      this.ids.push(id);
      return;
    }
    if (position === this.last + 1) {
      this.last = position;
      this.ids.push(id);
      return;
    }
    if (position <= this.last) {
      if (position >= this.first && this.ids[position - this.first] === id) this.duplicates += 1;
      else this.reordered += 1;
      return;
    }
    // a jump: the positions in between never arrived
    this.gaps += position - this.last - 1;
    for (let p = this.last + 1; p < position; p++) this.ids.push("");
    this.last = position;
    this.ids.push(id);
  }

  get count(): number {
    return this.ids.length;
  }

  /** The id this member saw at a position, or undefined outside what it saw. */
  idAt(position: number): string | undefined {
    if (this.first === null || position < this.first || position > this.last) return undefined;
    return this.ids[position - this.first];
  }
}
