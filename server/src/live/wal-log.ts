import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { frame, unframe } from "./wal-records.ts";
import { log } from "../log.ts";

/**
 * An append-only log of records in a folder, synced to disk in groups: the embedded live store's
 * write-ahead log.
 *
 * Group commit: at most one write + fdatasync is in flight; records appended meanwhile wait and
 * go out together in the next one. One sync then covers every universe's turns of that moment,
 * so the cost per turn falls as the load rises instead of the syncs queueing up.
 *
 * Segments: the log is one file at a time, `segment-<n>.wal`, whose first record is a
 * checkpoint (everything still needed from the segments before it). When the file outgrows
 * `segmentBytes` the log writes the next segment, beginning with a fresh checkpoint, syncs it
 * and its folder, and only then deletes the old one. Opening does the same, so a torn tail left
 * by a crash is never appended to. A segment whose checkpoint is torn (a crash while rolling) is
 * ignored in favour of the one before it, which is still whole.
 *
 * A failed write or sync (a full disk, an I/O error) refuses the records of that group, and the
 * file's contents are then unknown: a failed fsync may have dropped the dirty pages, a failed
 * write may have left half a record. So the log never appends to that file again; the next group
 * first starts a new segment from the checkpoint, which restates exactly what was acknowledged.
 * Once the disk takes writes again, so does the log, without a restart.
 */

export interface WalLogOptions {
  dir: string;
  /** Roll to a new segment past this size (default 16 MiB). */
  segmentBytes?: number;
  /** The checkpoint record: everything still needed, restated (called when a segment begins). */
  checkpoint(): string;
  /** How a written group is made durable (default fdatasync); tests hold it to watch the groups. */
  sync?: (file: FileHandle) => Promise<void>;
}

interface Entry {
  bytes: Buffer;
  /** Runs once the record is on disk, before the next group is written (in append order). */
  onDurable?: () => void;
  /** Waiters of a durable append; lazy records (notes) have none and force no sync. */
  resolve?: () => void;
  reject?: (error: Error) => void;
}

const SEGMENT = /^segment-(\d+)\.wal$/;

function segmentName(sequence: number): string {
  return `segment-${String(sequence).padStart(10, "0")}.wal`;
}

export class WalLogFailedError extends Error {
  constructor(cause: unknown) {
    super(
      `the write-ahead log cannot be written: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = "WalLogFailedError";
  }
}

export class WalLog {
  private queue: Entry[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  /** The last write or sync failed: the next group starts a new segment. */
  private broken = false;
  private closed = false;
  private syncs = 0;

  private constructor(
    private readonly options: WalLogOptions,
    private handle: FileHandle,
    private sequence: number,
    private size: number,
  ) {}

  /**
   * Reads the newest whole segment and hands its records (checkpoint first) to `replay`, which
   * must rebuild what `checkpoint` restates; then starts a new segment from that checkpoint.
   */
  static async open(options: WalLogOptions, replay: (payloads: string[]) => void): Promise<WalLog> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const sequences = (await readdir(options.dir))
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((found): found is string => found !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    let payloads: string[] = [];
    const damaged: number[] = [];
    for (const sequence of sequences) {
      const bytes = await readFile(join(options.dir, segmentName(sequence)));
      const found = unframe(bytes);
      if (found.damaged) damaged.push(sequence);
      // a record cut short at the end is a write a crash interrupted before its sync, so never
      // acknowledged; said all the same, since a disk that lied about a sync would look the same
      else if (bytes.subarray(found.validBytes).some((byte) => byte !== 0))
        log.warn(
          `the write-ahead log's ${segmentName(sequence)} ends in a record cut short (${bytes.length - found.validBytes} bytes, a write interrupted before it was synced, so never acknowledged): dropped`,
        );
      if (found.payloads.length > 0) {
        payloads = found.payloads;
        break;
      }
    }
    replay(payloads);
    const first = (sequences[0] ?? 0) + 1;
    const { handle, size } = await WalLog.begin(options, first);
    const wal = new WalLog(options, handle, first, size);
    // a segment not read to its end is never deleted: what follows the damage may be acknowledged
    for (const sequence of damaged) {
      const kept = `${segmentName(sequence)}.damaged-${Date.now()}`;
      await rename(join(options.dir, segmentName(sequence)), join(options.dir, kept));
      log.error(
        `the write-ahead log's ${segmentName(sequence)} holds records after one that does not verify (damage on disk): only those before it were read, and acknowledged turns after it may be missing; the segment is kept as ${join(options.dir, kept)}`,
      );
    }
    await wal.removeBefore(
      first,
      sequences.filter((sequence) => !damaged.includes(sequence)),
    );
    return wal;
  }

  /** Creates segment `sequence` holding the checkpoint, synced, with its folder entry synced. */
  private static async begin(
    options: WalLogOptions,
    sequence: number,
  ): Promise<{ handle: FileHandle; size: number }> {
    const handle = await open(join(options.dir, segmentName(sequence)), "wx", 0o600);
    try {
      const bytes = frame(options.checkpoint());
      await writeAll(handle, bytes);
      await handle.datasync();
      await syncFolder(options.dir);
      return { handle, size: bytes.length };
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(join(options.dir, segmentName(sequence))).catch(() => undefined);
      throw error;
    }
  }

  private async removeBefore(sequence: number, sequences: number[]): Promise<void> {
    for (const old of sequences.filter((s) => s < sequence))
      await unlink(join(this.options.dir, segmentName(old))).catch(() => undefined);
  }

  /**
   * Appends a record and resolves once it is synced to disk; `onDurable` runs just before, in
   * append order, and before any later group is written (so a checkpoint taken for the next
   * segment includes it). Rejects with WalLogFailedError if its group could not be written and
   * synced: the record is then not acknowledged and never restated by a checkpoint.
   */
  append(payload: string, onDurable?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the write-ahead log is closed"));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes: frame(payload), onDurable, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Writes a record with the next group without waiting for it and without forcing a sync: for
   * records whose loss in a crash is harmless (a trim restated later, or redone on replay).
   */
  note(payload: string): void {
    if (this.closed) return;
    this.queue.push({ bytes: frame(payload) });
    this.schedule();
  }

  /** Group syncs so far (each acknowledges every durable record written with it). */
  get syncCount(): number {
    return this.syncs;
  }

  /** Writes what is queued, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.running || this.scheduled) await (this.running ?? new Promise((r) => setImmediate(r)));
    await this.handle.close();
  }

  /** Starts a group on the next turn of the event loop, so appends made together share it. */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.writeGroups().finally(() => (this.running = null));
    });
  }

  private async writeGroups(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        if (this.broken || this.size >= (this.options.segmentBytes ?? 16 * 1024 * 1024)) await this.roll();
        const bytes = group.length === 1 ? group[0]!.bytes : Buffer.concat(group.map((entry) => entry.bytes));
        await writeAll(this.handle, bytes);
        this.size += bytes.length;
        if (group.some((entry) => entry.resolve)) {
          this.syncs += 1;
          await (this.options.sync ? this.options.sync(this.handle) : this.handle.datasync());
        }
      } catch (error) {
        this.fail(error, group);
        continue;
      }
      if (this.broken) {
        this.broken = false;
        log.info("the write-ahead log is written again");
      }
      for (const entry of group) entry.onDurable?.();
      for (const entry of group) entry.resolve?.();
    }
  }

  private async roll(): Promise<void> {
    const next = this.sequence + 1;
    const { handle, size } = await WalLog.begin(this.options, next);
    const old = this.handle;
    this.handle = handle;
    this.size = size;
    this.sequence = next;
    await old.close().catch(() => undefined);
    await this.removeBefore(next, [next - 1]);
  }

  private fail(error: unknown, group: Entry[]): void {
    const failed = new WalLogFailedError(error);
    if (!this.broken) log.error(`${failed.message}; turns are refused until it can be written again`);
    this.broken = true;
    for (const entry of group) entry.reject?.(failed);
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Makes a new file's name durable: fsync on the folder (a no-op where folders cannot be opened). */
async function syncFolder(dir: string): Promise<void> {
  let folder: FileHandle | null = null;
  try {
    folder = await open(dir, "r");
    await folder.sync();
  } catch {
    // Windows cannot open a folder for syncing; its file system orders the entry itself.
  } finally {
    await folder?.close().catch(() => undefined);
  }
}
