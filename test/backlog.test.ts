import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { captureLog } from "../server/src/log.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";
import { RawMember } from "./support/raw-member.ts";

/**
 * A member that stops reading, and answers the keepalive so as not to look gone: everything the
 * table plays would wait for it in the server's memory. Past LOOM_CLIENT_BACKLOG_KB it is cut off.
 * One mode: the room and its sockets are the same in both.
 */
const embedded = modes()[0]!;
const BACKLOG_KB = 64;
// a game master's turn of a world event at the text limit is about 5 KB: the kernel's buffers on
// loopback (a few MB) fill first, within a thousand turns, and 4,000 are over 20 MB
const MOST_TURNS = 4_000;

describe("a member that stops reading", () => {
  let server: LoomServer & { url: string };
  let table: Table;
  let gm: UniverseSession;
  const logged: string[] = [];
  let stopCapture = () => undefined as void;

  beforeAll(async () => {
    stopCapture = captureLog((line) => logged.push(line), "warn");
    server = await startServer(embedded, { port: 2602, clientBacklogBytes: BACKLOG_KB * 1024 });
    table = await setTable(server.url, []);
    gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
  });
  afterAll(async () => {
    stopCapture();
    await gm?.leave();
    await server?.shutdown();
  });

  it(`is cut off once more than LOOM_CLIENT_BACKLOG_KB wait for it, and the table plays on`, async () => {
    const stalled = await RawMember.join(server.url, table.gm.playerToken!, table.universeId, {
      role: "gm",
    });
    const stopPongs = stalled.stall();
    const text = "The tide comes in over the salt flats and the bells ring under water. ".repeat(30);
    let turns = 0;
    try {
      while (stalled.closed === null && turns < MOST_TURNS) {
        const acted = await gm.act({ kind: "world_event", text: text.slice(0, 2_000) });
        expect(acted.ok, JSON.stringify(acted)).toBe(true);
        turns += 1;
      }
      await waitFor(() => stalled.closed !== null, 5_000, "the stalled connection closed");
    } finally {
      stopPongs();
      stalled.terminate();
    }
    expect(turns).toBeLessThan(MOST_TURNS);
    const warning = logged.find((line) => line.includes("cut off a connection"));
    expect(warning, logged.join("\n")).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: "warn", universeId: table.universeId });
    // the rest of the table never noticed
    const after = await gm.act({ kind: "world_event", text: "The bells fall silent." });
    expect(after.ok).toBe(true);
  }, 120_000);
});
