import { link, mkdir, readFile, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/**
 * One process per data folder. PGlite's files and the write-ahead log each assume a single
 * writer; two processes on one folder each acknowledge their own turn at the same position and
 * one of them is lost, or the database is left unopenable.
 *
 * The lock is a file, `<dataDir>/loom.lock`, holding the holder's pid, port, host and start
 * time. It is created whole (written beside, then hard-linked into place, which fails if the
 * name exists), so no process ever reads a half-written lock. A lock whose process is dead (kill
 * -9, a power cut) is stale and is taken over; the takeover runs under a second exclusive name,
 * so of two processes finding the same stale lock exactly one replaces it. A pid reused by an
 * unrelated process reads as alive: the message names it, and removing the file frees the
 * folder. Our own pid in the file (a container restarted with the same pid) is a previous life.
 */

export interface LockHolder {
  pid: number;
  port: number;
  host: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data folder ${dataDir} is in use by another Loom process (pid ${holder.pid}, port ${holder.port}` +
        `${holder.host === hostname() ? "" : `, host ${holder.host}`}, since ${holder.startedAt}). ` +
        `Stop that process, or give this one its own LOOM_DATA_DIR.`,
    );
    this.name = "DataDirLockedError";
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

const TAKEOVER_WAIT_MS = 5_000;
/** Locks this process holds: its own pid in a lock file is a previous life only if not listed. */
const held = new Map<string, LockHolder>();

export async function lockDataDir(dataDir: string, port: number): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "loom.lock");
  const holding = held.get(path);
  if (holding) throw new DataDirLockedError(dataDir, holding);
  const mine: LockHolder = { pid: process.pid, port, host: hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  const draft = `${path}.${process.pid}.${Date.now()}`;
  await writeFile(draft, text, { flag: "wx" });
  try {
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    for (;;) {
      if (await linked(draft, path)) break;
      const found = await readFile(path, "utf8").catch(() => null);
      if (found === null) continue; // released between our link and our read
      const holder = parse(found);
      if (holder && alive(holder)) throw new DataDirLockedError(dataDir, holder);
      if (await takeOver(path, found, draft)) break;
      if (Date.now() > deadline)
        throw new Error(
          `could not take over the stale lock ${path}; remove it if no Loom process uses the folder`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  held.set(path, mine);
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      held.delete(path);
      if ((await readFile(path, "utf8").catch(() => null)) === text)
        await unlink(path).catch(() => undefined);
    },
  };
}

async function linked(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Replaces the stale lock whose text is `stale`, unless another process got there first: under
 * `<lock>.takeover` (an exclusive mkdir) the lock is read again and replaced only if unchanged.
 */
async function takeOver(path: string, stale: string, draft: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // A takeover left half done by a process that died inside it (a moment's window) expires.
    const since = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > TAKEOVER_WAIT_MS) await rmdir(guard).catch(() => undefined);
    return false;
  }
  try {
    if ((await readFile(path, "utf8").catch(() => null)) !== stale) return false;
    await unlink(path);
    return await linked(draft, path);
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

function parse(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    return typeof value.pid === "number" && Number.isSafeInteger(value.pid)
      ? { pid: value.pid, port: value.port ?? 0, host: value.host ?? "", startedAt: value.startedAt ?? "" }
      : null;
  } catch {
    return null;
  }
}

function alive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return false;
  // A lock from another machine (a shared folder) cannot be checked; treat it as held.
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
