import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { modes, startServer, tempDir } from "./support/server.ts";
import type { LoomServer } from "../server/src/app.ts";

const root = resolve(import.meta.dirname, "..");

/**
 * The SDK as a project outside this repository gets it: built and packed (scripts/build-sdk.mjs),
 * installed from the tarball into an empty project, imported by plain Node (no TypeScript loader)
 * and type-checked against its declarations, then used against a real server.
 */
describe("the client SDK as a package", () => {
  let server: LoomServer & { url: string };
  let project: string;

  beforeAll(async () => {
    project = tempDir("loom-sdk-consumer-");
    // the package is built and installed by child processes while the server starts in this one
    const installed = (async () => {
      const built = await promisify(execFile)(
        process.execPath,
        [join(root, "scripts/build-sdk.mjs"), "--pack", project],
        { encoding: "utf8" },
      );
      process.stderr.write(built.stderr);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "consumer", private: true, type: "module" }),
      );
      const install = await promisify(execFile)(
        "npm",
        ["install", built.stdout.trim(), "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
        { cwd: project, encoding: "utf8" },
      );
      process.stderr.write(install.stdout + install.stderr);
    })();
    const [started] = await Promise.allSettled([startServer(modes()[0]!, { port: 2601 }), installed]);
    if (started.status === "fulfilled") server = started.value;
    await installed;
    if (started.status === "rejected") throw started.reason;
  }, 180_000);

  afterAll(async () => {
    await server?.shutdown();
  });

  it("installs, type-checks and plays a first turn from plain JavaScript", async () => {
    const script = `
import { connect, verifyDice } from "@loom/client-sdk";
const url = process.argv[2];
const gm = connect(url);
await gm.registerPlayer("Game Master");
const universe = await gm.createUniverse({ name: "Outside", visibility: "public" });
const player = connect(url);
await player.registerPlayer("Alex");
const { character, run } = await player.createCharacter(universe.id, {
  name: "Mara", highConcept: "Disgraced cartographer", trouble: "Owes the Salt Guild",
  skills: { Athletics: 2, Notice: 3 },
});
const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
const recap = await new Promise((resolve) => session.on("recap", resolve));
const result = await session.act({ kind: "action", action: "overcome", characterId: character.id,
  skill: "Athletics", description: "the flooded ditch" });
await session.leave();
console.log(JSON.stringify({ ok: result.ok, position: result.ok ? result.turn.position : null,
  recap: typeof recap, verify: typeof verifyDice }));
process.exit(0);
`;
    writeFileSync(join(project, "first-turn.mjs"), script);
    // not execFileSync: the server runs in this process and must answer meanwhile
    const { stdout: out } = await promisify(execFile)(process.execPath, ["first-turn.mjs", server.url], {
      cwd: project,
      encoding: "utf8",
    });
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual({
      ok: true,
      position: expect.any(Number) as number,
      recap: "object",
      verify: "function",
    });

    writeFileSync(
      join(project, "typed.ts"),
      `import { connect, type ActResult, type Turn } from "@loom/client-sdk";
const client = connect("http://127.0.0.1:1");
export async function play(universeId: string, runId: string, characterId: string): Promise<Turn | null> {
  const session = await client.joinUniverse(universeId, { role: "player", runId });
  const result: ActResult = await session.act({ kind: "custom", characterId, text: "waits" });
  // @ts-expect-error a command kind the rules do not know is a type error
  await session.act({ kind: "fly", characterId });
  return result.ok ? result.turn : null;
}
`,
    );
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--lib",
        "es2023,dom",
        "--skipLibCheck",
        "typed.ts",
      ],
      { cwd: project, stdio: "inherit" },
    );
  }, 120_000);
});
