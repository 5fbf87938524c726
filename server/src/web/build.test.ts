import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { webBuildNeeded } from "./build.ts";

function at(path: string, seconds: number): void {
  utimesSync(path, seconds, seconds);
}

describe("whether the web client must be built", () => {
  it("builds when web/dist is missing, or older than any source file; not when it is newer", () => {
    // given sources in nested folders and no build
    const root = mkdtempSync(join(tmpdir(), "loom-web-build-"));
    const src = join(root, "src");
    mkdirSync(join(src, "deep"), { recursive: true });
    writeFileSync(join(src, "main.tsx"), "");
    writeFileSync(join(src, "deep", "screen.tsx"), "");
    writeFileSync(join(root, "index.html"), "");
    const dist = join(root, "dist");
    const sources = [join(root, "index.html"), src, join(root, "no-such-folder")];
    for (const path of [
      join(src, "main.tsx"),
      join(src, "deep", "screen.tsx"),
      join(root, "index.html"),
      src,
      join(src, "deep"),
    ])
      at(path, 1_000);
    expect(webBuildNeeded(dist, sources)).toBe("web/dist is missing");

    // when a build newer than every source exists
    mkdirSync(dist);
    writeFileSync(join(dist, "index.html"), "");
    at(join(dist, "index.html"), 2_000);
    expect(webBuildNeeded(dist, sources)).toBeNull();

    // then a source changed after it, however deep, asks for a new build; a test file does not
    writeFileSync(join(src, "deep", "screen.test.ts"), "");
    at(join(src, "deep", "screen.test.ts"), 3_000);
    at(join(src, "deep"), 1_000); // the folder's own time counts too (a deleted file changes it)
    expect(webBuildNeeded(dist, sources)).toBeNull();
    at(join(src, "deep", "screen.tsx"), 3_000);
    expect(webBuildNeeded(dist, sources)).toBe("its sources changed since web/dist was built");
  });
});
