import type { Narration } from "@loom/shared";
import type { NarrationRecord, TurnStore } from "../persist/turn-store.ts";

interface Waiting extends NarrationRecord {
  resolve(written: boolean): void;
  reject(error: Error): void;
}

/**
 * Narration records of every universe this process serves, written in groups: the records that
 * arrive within `lingerMs` of the first one waiting, or while the previous group is being written,
 * go to the TurnStore together, in one transaction. A model's tellings finish a few hundred
 * milliseconds after their turns, one by one, and the table has read them already as they
 * streamed; a commit each would compete with the turns' own appends (in embedded mode, on the one
 * thread PGlite runs on). A process that dies in the meantime leaves them unrecorded, and the
 * next owner tells those turns once (UniverseNarration.recover).
 */
export class NarrationRecorder {
  private waiting: Waiting[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly store: Pick<TurnStore, "setNarrations">,
    /** Most records in one group: a backlog after an outage is written in bounded transactions. */
    private readonly maxGroup = 500,
    /** How long the first record of a group waits for others. */
    private readonly lingerMs = 0,
  ) {}

  /** Same contract as TurnStore.setNarration: false when the turn already had narration. */
  record(universeId: string, position: number, narration: Narration): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ universeId, position, narration, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    const write = () => {
      this.scheduled = false;
      this.writing = this.write().finally(() => {
        this.writing = null;
        if (this.waiting.length > 0) this.schedule();
      });
    };
    if (this.lingerMs > 0 && this.waiting.length < this.maxGroup) setTimeout(write, this.lingerMs);
    else setImmediate(write);
  }

  private async write(): Promise<void> {
    const group = this.waiting.splice(0, this.maxGroup);
    if (group.length === 0) return;
    try {
      const written = await this.store.setNarrations(
        group.map(({ universeId, position, narration }) => ({ universeId, position, narration })),
      );
      group.forEach((request, i) => request.resolve(written[i]!));
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      // one record the store refuses (a turn that is gone) must not take the others with it
      for (const request of group) {
        const { universeId, position, narration } = request;
        await this.store.setNarrations([{ universeId, position, narration }]).then(
          ([written]) => request.resolve(written!),
          (alone: unknown) => request.reject(alone instanceof Error ? alone : new Error(String(alone))),
        );
      }
    }
  }
}
