import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileLiveStore } from "./file.ts";
import { TurnOrderError } from "./live-store.ts";
import { WalLogFailedError } from "./wal-log.ts";
import { sampleTurn, sampleTurns } from "./fixtures.ts";
import { frame, HEADER_BYTES, unframe } from "./wal-records.ts";
import { captureLog } from "../log.ts";

// The write-ahead log file store beyond the shared contract: what survives a crash, and how the
// acknowledgement waits for the disk. A "crash" here is a second store opened on the folder
// while the first one was never closed, as a new process would after kill -9.

const dirs: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "loom-wal-test-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function segments(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".wal"));
}

async function opened(dir: string, segmentBytes?: number) {
  const store = await FileLiveStore.open({ dir, segmentBytes });
  const lease = (await store.acquire("u1", "process", 60_000))!;
  return { store, lease };
}

describe("record framing", () => {
  it("reads whole records and stops at a cut-short or corrupted one", () => {
    const records = Buffer.concat([frame('{"a":1}'), frame('{"b":2}'), frame('{"c":3}')]);
    expect(unframe(records).payloads).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    // given the last record cut anywhere inside it, then the two before it are all that is read
    const third = frame('{"c":3}').length;
    for (let cut = 1; cut < third; cut++) {
      const torn = unframe(records.subarray(0, records.length - cut));
      expect(torn.payloads).toEqual(['{"a":1}', '{"b":2}']);
      expect(torn.validBytes).toBe(records.length - third);
    }
    // given one byte of the second record's payload flipped, then reading stops before it
    const flipped = Buffer.from(records);
    const at = frame('{"a":1}').length + HEADER_BYTES + 2;
    flipped[at] = flipped[at]! ^ 0x01;
    expect(unframe(flipped).payloads).toEqual(['{"a":1}']);
    // a verified record after the one that is not says the bytes were damaged; a torn tail does not
    expect(unframe(flipped).damaged).toBe(true);
    expect(unframe(records.subarray(0, records.length - 3)).damaged).toBe(false);
    expect(unframe(Buffer.concat([records, Buffer.alloc(4096)])).damaged).toBe(false);
  });
});

describe("the write-ahead log file store", () => {
  it("acknowledges an append only once its sync is done, and groups appends that arrive meanwhile", async () => {
    // given a log whose syncs are held until released
    const held: Array<() => void> = [];
    const store = await FileLiveStore.open({
      dir: folder(),
      sync: (file) => new Promise<void>((resolve) => held.push(() => void file.datasync().then(resolve))),
    });
    const leases = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.acquire(`u${i}`, "process", 60_000)),
    );
    // when one append is waiting on its sync
    let firstDone = false;
    const first = store.appendTurns(leases[0]!, [sampleTurn("u0", 1)]).then(() => (firstDone = true));
    await vitestWait(() => held.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    // then it is not acknowledged, nor readable
    expect(firstDone).toBe(false);
    expect(await store.readTail("u0", 0)).toEqual([]);
    // when nine more appends over five universes arrive during that sync
    const more = leases.flatMap((lease, i) =>
      i === 0
        ? [store.appendTurns(lease!, [sampleTurn("u0", 2)])]
        : [
            store.appendTurns(lease!, [sampleTurn(`u${i}`, 1)]),
            store.appendTurns(lease!, [sampleTurn(`u${i}`, 2)]),
          ],
    );
    held.shift()!();
    await first;
    await vitestWait(() => held.length === 1);
    held.shift()!();
    await Promise.all(more);
    // then they were written and synced together, in one more sync
    expect(store.syncCount).toBe(2);
    for (let i = 0; i < 5; i++) expect(await store.readTail(`u${i}`, 0)).toEqual(sampleTurns(`u${i}`, 1, 2));
    await store.close();
  });

  it("replays acknowledged turns after a crash, without the trimmed ones, and keeps positions taken", async () => {
    // given turns 1..6 acknowledged and 1..2 trimmed (persisted), and the process gone without closing
    const dir = folder();
    const { store, lease } = await opened(dir);
    await store.appendTurns(lease, sampleTurns("u1", 1, 4));
    await store.appendTurns(lease, sampleTurns("u1", 5, 2));
    await store.trim("u1", 2);
    await store.appendTurns(lease, [sampleTurn("u1", 7)]); // carries the trim to disk with it
    // when the folder is opened again
    const { store: next, lease: nextLease } = await opened(dir);
    // then the untrimmed turns are there, deep-equal, and the positions before them stay taken
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 3, 5));
    await expect(next.appendTurns(nextLease, [sampleTurn("u1", 7)])).rejects.toBeInstanceOf(TurnOrderError);
    await next.appendTurns(nextLease, [sampleTurn("u1", 8)]);
    expect(await next.readTail("u1", 6)).toEqual(sampleTurns("u1", 7, 2));
    await next.close();
    await store.close();
  });

  it("ignores a torn last record (never acknowledged) and appends cleanly after it", async () => {
    // given turns 1..3 acknowledged, then the first bytes of a record for turn 4 (a crash mid-write)
    const dir = folder();
    const { store, lease } = await opened(dir);
    await store.appendTurns(lease, sampleTurns("u1", 1, 3));
    const [segment] = segments(dir);
    const torn = frame(JSON.stringify({ k: "turns", u: "u1", turns: [sampleTurn("u1", 4)] }));
    appendFileSync(join(dir, segment!), torn.subarray(0, torn.length - 7));
    // when the folder is opened again
    const said: string[] = [];
    const stop = captureLog((line) => said.push(line), "warn");
    const { store: next, lease: nextLease } = await opened(dir);
    stop();
    // the drop is said, with what was dropped
    expect(said.join("\n")).toContain(`${segment} ends in a record cut short (${torn.length - 7} bytes`);
    // then turns 1..3 are there and 4 is not, and turn 4 can be appended and survives another crash
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 3));
    await next.appendTurns(nextLease, [sampleTurn("u1", 4)]);
    said.length = 0;
    const again = captureLog((line) => said.push(line), "warn");
    const { store: third } = await opened(dir);
    again();
    expect(said).toEqual([]);
    expect(await third.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 4));
    expect(segments(dir)).toHaveLength(1);
    await Promise.all([store.close(), next.close(), third.close()]);
  });

  it("ignores a last record whose bytes do not match its checksum", async () => {
    const dir = folder();
    const { store, lease } = await opened(dir);
    await store.appendTurns(lease, sampleTurns("u1", 1, 2));
    await store.appendTurns(lease, [sampleTurn("u1", 3)]);
    const path = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff; // inside turn 3's record
    writeFileSync(path, bytes);
    const { store: next } = await opened(dir);
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 2));
    await Promise.all([store.close(), next.close()]);
  });

  it("keeps a segment damaged before its end, and says so, rather than deleting what follows the damage", async () => {
    const dir = folder();
    const { store, lease } = await opened(dir);
    for (let position = 1; position <= 6; position++)
      await store.appendTurns(lease, [sampleTurn("u1", position)]);
    const [segment] = segments(dir);
    const path = join(dir, segment!);
    const bytes = readFileSync(path);
    // a byte of turn 3's record flipped: turns 4..6 follow it, whole
    const at = bytes.indexOf('"position":3');
    bytes[at + 2] = bytes[at + 2]! ^ 0x01;
    writeFileSync(path, bytes);
    const said: string[] = [];
    const stop = captureLog((line) => said.push(line), "error");
    const { store: next } = await opened(dir);
    stop();
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 2));
    const kept = readdirSync(dir).filter((name) => name.startsWith(`${segment}.damaged-`));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, kept[0]!))).toEqual(bytes);
    expect(said.join("\n")).toContain(`the segment is kept as ${join(dir, kept[0]!)}`);
    await Promise.all([store.close(), next.close()]);
  });

  it("rolls to new segments, keeping what is not trimmed and deleting the old files", async () => {
    // given segments of 16 KiB and 300 turns appended in batches, the first 250 trimmed
    const dir = folder();
    const { store, lease } = await opened(dir, 16 * 1024);
    for (let from = 1; from <= 300; from += 10) await store.appendTurns(lease, sampleTurns("u1", from, 10));
    await store.trim("u1", 250);
    await store.appendTurns(lease, [sampleTurn("u1", 301)]);
    // then one segment file is left, and opening it again gives turns 251..301
    expect(segments(dir)).toHaveLength(1);
    const { store: next } = await opened(dir);
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 251, 51));
    await Promise.all([store.close(), next.close()]);
  });

  it("refuses the turns of a failed sync, then writes again in a new segment without a restart", async () => {
    // given turns 1..2 acknowledged, and the disk failing the next sync (e.g. full)
    const dir = folder();
    let failNext = false;
    const store = await FileLiveStore.open({
      dir,
      sync: async (file) => {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
        }
        await file.datasync();
      },
    });
    const lease = (await store.acquire("u1", "process", 60_000))!;
    await store.appendTurns(lease, sampleTurns("u1", 1, 2));
    const [before] = segments(dir);
    failNext = true;
    // when turn 3 is appended, then it is refused and not readable
    await expect(store.appendTurns(lease, [sampleTurn("u1", 3)])).rejects.toBeInstanceOf(WalLogFailedError);
    expect(await store.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 2));
    // when it is tried again, then it is acknowledged, in a new segment that replaced the old file
    await store.appendTurns(lease, [sampleTurn("u1", 3)]);
    expect(segments(dir)).toHaveLength(1);
    expect(segments(dir)[0]).not.toBe(before);
    // and the folder opened again holds exactly the acknowledged turns
    const { store: next } = await opened(dir);
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 3));
    await Promise.all([store.close(), next.close()]);
  });

  it("falls back to the previous segment when a crash tore the new one's checkpoint", async () => {
    const dir = folder();
    const { store, lease } = await opened(dir);
    await store.appendTurns(lease, sampleTurns("u1", 1, 3));
    writeFileSync(
      join(dir, "segment-9999999999.wal"),
      frame('{"k":"checkpoint","universes":[]}').subarray(0, 12),
    );
    const { store: next } = await opened(dir);
    expect(await next.readTail("u1", 0)).toEqual(sampleTurns("u1", 1, 3));
    await Promise.all([store.close(), next.close()]);
  });
});

async function vitestWait(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}
