import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "./data-dir-lock.ts";

const dirs: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "loom-lock-test-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function holder(pid: number, port = 2567) {
  return JSON.stringify({ pid, port, host: hostname(), startedAt: "2026-01-01T00:00:00.000Z" });
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid;
}

describe("the data folder lock", () => {
  it("writes the holder's pid and port, refuses a second holder, and frees the folder on release", async () => {
    const dir = folder();
    const lock = await lockDataDir(dir, 4242);
    expect(JSON.parse(readFileSync(lock.path, "utf8"))).toMatchObject({ pid: process.pid, port: 4242 });
    await expect(lockDataDir(dir, 4243)).rejects.toBeInstanceOf(DataDirLockedError);
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    const again = await lockDataDir(dir, 4243);
    await again.release();
  });

  it("refuses while another live process holds it, naming that process", async () => {
    const dir = folder();
    writeFileSync(join(dir, "loom.lock"), holder(process.ppid, 2999));
    const refused = await lockDataDir(dir, 4242).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as Error).message).toContain(`pid ${process.ppid}, port 2999`);
    expect(readFileSync(join(dir, "loom.lock"), "utf8")).toBe(holder(process.ppid, 2999));
  });

  it("takes over a lock whose process is dead, or that is unreadable", async () => {
    for (const stale of [holder(deadPid()), "{not json"]) {
      const dir = folder();
      writeFileSync(join(dir, "loom.lock"), stale);
      const lock = await lockDataDir(dir, 4242);
      expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
      await lock.release();
    }
  });

  it("does not remove a lock that another process took after ours was taken over", async () => {
    const dir = folder();
    const lock = await lockDataDir(dir, 4242);
    writeFileSync(lock.path, holder(process.ppid));
    await lock.release();
    expect(readFileSync(lock.path, "utf8")).toBe(holder(process.ppid));
  });
});
