import { describe, expect, it } from "vitest";
import { SNAPSHOT_BATCH, snapshotBatchAfter } from "./jsonl.ts";

describe("snapshotBatchAfter", () => {
  it("keeps the batch for small documents and shrinks it to about 4 MB of text for large ones", () => {
    expect(snapshotBatchAfter(SNAPSHOT_BATCH, ["x".repeat(38_000), "{}"])).toBe(SNAPSHOT_BATCH);
    expect(snapshotBatchAfter(SNAPSHOT_BATCH, ["x".repeat(400_000)])).toBe(10);
    expect(snapshotBatchAfter(SNAPSHOT_BATCH, ["x".repeat(20_000_000)])).toBe(1);
    expect(snapshotBatchAfter(SNAPSHOT_BATCH, [])).toBe(SNAPSHOT_BATCH);
  });

  it("never grows back once a large document was seen", () => {
    const shrunk = snapshotBatchAfter(SNAPSHOT_BATCH, ["x".repeat(1_000_000)]);
    expect(shrunk).toBe(4);
    expect(snapshotBatchAfter(shrunk, ["{}", "x".repeat(1000)])).toBe(4);
  });
});
