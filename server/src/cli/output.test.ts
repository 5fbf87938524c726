import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileStreamed } from "./output.ts";

describe("writeFileStreamed", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "loom-output-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes every chunk in order as UTF-8 and leaves no partial file", async () => {
    const file = join(dir, "out.jsonl");
    const big = "é🎲".repeat(300_000);
    async function* chunks() {
      yield '{"type":"header"}\n';
      yield big;
      yield "";
      yield "\nend — 終\n";
    }
    await writeFileStreamed(file, chunks());
    expect(readFileSync(file, "utf8")).toBe(`{"type":"header"}\n${big}\nend — 終\n`);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it("leaves the file as it was, and no partial file, when the chunks fail", async () => {
    const file = join(dir, "out.jsonl");
    writeFileSync(file, "an earlier export\n");
    async function* chunks() {
      yield "the first line\n";
      throw new Error("the store went away");
    }
    await expect(writeFileStreamed(file, chunks())).rejects.toThrow("the store went away");
    expect(readFileSync(file, "utf8")).toBe("an earlier export\n");
    expect(existsSync(`${file}.partial`)).toBe(false);
  });
});
