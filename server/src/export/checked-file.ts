import { Worker } from "node:worker_threads";
import type { UniverseState } from "@loom/shared";
import type { CheckedItem, CheckOptions } from "./checked-items.ts";
import type { CheckerMessage, CheckerStart } from "./checking-worker.ts";
import { ExportFileError } from "./reader.ts";
import { bundledEntry } from "../worker-bundle.ts";

export type { CheckedItem } from "./checked-items.ts";

/** The checking thread's young generation: a fixed size, whatever the file's. */
const CHECKING_YOUNG_MB = 96;

/**
 * An export file read and checked (`readExport`'s every check) on a worker thread while this one
 * writes its items: parsing, checking and writing out the rows are most of an import's own work,
 * and with them on a second core the database's writes (PGlite's on this thread, or a Postgres
 * backend's) overlap them instead of waiting their turn; the rows' bytes cross over uncopied. The
 * thread starts at once, from a bundle of its modules (worker-bundle.ts) where one can be had,
 * and reads once `items` is asked for; it runs at most `ahead` messages (each up to a parcel of
 * turns) ahead of this one. A refusal comes out as the ExportFileError the reader raised, at the
 * same point of the file.
 */
export class CheckedFile {
  private readonly worker: Worker;
  private readonly arrived: CheckerMessage[] = [];
  private wake: (() => void) | null = null;
  private lost: Error | null = null;

  static async start(file: string, ahead: number): Promise<CheckedFile> {
    // without a bundle, the boot file registers tsx in the worker, whatever loaded TypeScript here
    const entry =
      (await bundledEntry(new URL("./checking-worker.ts", import.meta.url))) ??
      new URL("./checking-worker-boot.mjs", import.meta.url);
    return new CheckedFile(entry, file, ahead);
  }

  private constructor(
    entry: URL,
    file: string,
    private readonly ahead: number,
  ) {
    this.worker = new Worker(entry, {
      workerData: { file },
      // Every line parses into objects that die once its row is written: a young generation of
      // CHECKING_YOUNG_MB (V8's default is about a third) is collected less often, and fewer
      // of a line's objects are still alive, and copied, when it is.
      resourceLimits: { maxYoungGenerationSizeMb: CHECKING_YOUNG_MB },
    });
    this.worker.on("message", (message: CheckerMessage) => {
      this.arrived.push(message);
      this.wake?.();
    });
    this.worker.on("error", (error) => {
      this.lost = error;
      this.wake?.();
    });
    this.worker.on("exit", (code) => {
      this.lost ??= new Error(`the export's checking thread stopped (exit code ${code})`);
      this.wake?.();
    });
  }

  /**
   * The file's items, in order, checked from `start` (the state at the header's `from`, when
   * known), the turns as rows of universe `universeId`.
   */
  async *items(
    start: UniverseState | null,
    universeId: string,
    options: CheckOptions = {},
  ): AsyncGenerator<CheckedItem> {
    this.worker.postMessage({ start, universeId, ahead: this.ahead, options } satisfies CheckerStart);
    for (;;) {
      const message = await this.next();
      // stopped now, not after the import: the thread's exit is an event, and beside PGlite the
      // search indexer's statements after the commit would hold this thread's events back
      if ("done" in message) return await this.stop();
      if ("refused" in message) {
        const { line, reason, paths, code } = message.refused;
        throw new ExportFileError(line, reason, paths, code);
      }
      if ("failed" in message)
        throw Object.assign(new Error(message.failed.message), { name: message.failed.name });
      this.worker.postMessage("more");
      yield* message.items;
    }
  }

  /** Stops the thread, wherever it is. */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  private async next(): Promise<CheckerMessage> {
    while (this.arrived.length === 0) {
      if (this.lost) throw this.lost;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return this.arrived.shift()!;
  }
}
