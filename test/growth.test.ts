import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHOICE_FLAGS_MAX } from "@loom/shared";
import { connect, type UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { BRANCH_DEPTH_MAX } from "../server/src/persist/turn-store.ts";
import { captureLog } from "../server/src/log.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { breakUntil, setTable, type Table } from "./support/players.ts";
import { RawMember } from "./support/raw-member.ts";

/**
 * What one client could make the server hold without bound, sent as a hostile one would: a member
 * that stops reading (and answers the keepalive so as not to look gone), a player recording choices
 * under ever new option ids, a game master branching branches. One mode: the room, its sockets and
 * the checks are the same in both.
 */
const embedded = modes()[0]!;
const BACKLOG_KB = 64;
// a game master's turn of a world event at the text limit is about 5 KB: the kernel's buffers on
// loopback (a few MB) fill first, within a thousand turns, and 4,000 are over 20 MB
const MOST_TURNS = 4_000;
/** The joins (and reconnections) one player may make to one room at once. */
const JOINS = 4;
/** Universes one player may create: the game master's line of branches below stays within it. */
const UNIVERSES = BRANCH_DEPTH_MAX + 8;

describe("what one client can make the server hold", () => {
  let server: LoomServer & { url: string };
  let table: Table;
  let gm: UniverseSession;
  const logged: string[] = [];
  let stopCapture = () => undefined as void;

  beforeAll(async () => {
    stopCapture = captureLog((line) => logged.push(line), "info");
    server = await startServer(embedded, {
      port: 2602,
      clientBacklogBytes: BACKLOG_KB * 1024,
      joinsPerPlayer: { burst: JOINS, perSeconds: 600 },
      maxUniversesPerPlayer: UNIVERSES,
    });
    table = await setTable(server.url, ["Ash"]);
    gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
  });
  afterAll(async () => {
    stopCapture();
    await gm?.leave();
    await server?.shutdown();
  });

  it(`a member that stops reading is cut off once more than LOOM_CLIENT_BACKLOG_KB wait for it, and the table plays on`, async () => {
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

  it(`a character's choices keep at most ${CHOICE_FLAGS_MAX} option ids as world flags`, async () => {
    const ash = table.players[0]!;
    const seat = await ash.client.joinUniverse(table.universeId, { role: "player", runId: ash.runId });
    try {
      const choose = (optionId?: string) =>
        seat.act({ kind: "choice", characterId: ash.characterId, text: "the left fork", optionId });
      for (let i = 0; i < CHOICE_FLAGS_MAX; i++) {
        const chosen = await choose(`fork-${i}`);
        expect(chosen.ok, JSON.stringify(chosen)).toBe(true);
      }
      const head = (await gm.act({ kind: "world_event", text: "The road goes on." })).ok;
      expect(head).toBe(true);
      const refused = await choose("one-more");
      expect(refused.ok || refused.rejection.code).toBe("invalid_value");
      // a kept id chosen again, and a choice without one, are taken
      expect((await choose("fork-7")).ok).toBe(true);
      expect((await choose()).ok).toBe(true);
      const state = await fetch(`${server.url}/api/universes/${table.universeId}/state`, {
        headers: { authorization: `Bearer ${table.gm.playerToken}` },
      });
      const flags = ((await state.json()) as { state: { world: { flags: Record<string, unknown> } } }).state
        .world.flags;
      expect(Object.keys(flags).filter((key) => key.startsWith(`choice.${ash.characterId}.`))).toHaveLength(
        CHOICE_FLAGS_MAX,
      );
    } finally {
      await seat.leave();
    }
  });

  it(`a line of branches is at most ${BRANCH_DEPTH_MAX} deep`, async () => {
    const branch = (from: string) =>
      fetch(`${server.url}/api/universes/${from}/branch`, {
        method: "POST",
        headers: { authorization: `Bearer ${table.gm.playerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ position: 0 }),
      });
    let deepest = table.universeId;
    for (let depth = 1; depth <= BRANCH_DEPTH_MAX; depth++) {
      const made = await branch(deepest);
      expect(made.status, await made.clone().text()).toBe(201);
      deepest = ((await made.json()) as { universe: { id: string } }).universe.id;
    }
    const refused = await branch(deepest);
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("conflict");
    expect(error.message).toContain(`${BRANCH_DEPTH_MAX} levels deep`);
    // the line is still branched from anywhere shallower, the deepest still read
    expect((await branch(table.universeId)).status).toBe(201);
    const jump = await fetch(`${server.url}/api/universes/${deepest}/jump?position=0`, {
      headers: { authorization: `Bearer ${table.gm.playerToken}` },
    });
    expect(jump.status).toBe(200);
  });

  it(`a player creates at most LOOM_MAX_UNIVERSES_PER_PLAYER universes, branches included, also all at once`, async () => {
    const hoarder = connect(server.url);
    await hoarder.registerPlayer("Hoarder");
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${hoarder.playerToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const first = await hoarder.createUniverse({ name: "First Hoard" });
    // every request at once: counted one after the other, so exactly the cap is made
    const burst = await Promise.all(
      Array.from({ length: UNIVERSES + 4 }, (_, i) =>
        i % 3 === 0
          ? post(`/api/universes/${first.id}/branch`, { position: 0 })
          : post("/api/universes", { name: `Hoard ${i}` }),
      ),
    );
    const statuses = burst.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(UNIVERSES - 1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(5);
    const refused = burst.find((response) => response.status === 409)!;
    expect(await refused.json()).toEqual({
      error: {
        code: "too_many_universes",
        message: `a player may create ${UNIVERSES} universes, branches included`,
      },
    });
    const mine = (await hoarder.listUniverses()).filter((universe) => universe.yourRole === "gm");
    expect(mine).toHaveLength(UNIVERSES);
    // another player is not held to the hoarder's count
    const neighbour = connect(server.url);
    await neighbour.registerPlayer("Neighbour");
    await expect(neighbour.createUniverse({ name: "Next Door" })).resolves.toMatchObject({
      name: "Next Door",
    });
  });

  it("a connection coming back to its seat in a loop is held to the joins a player may make", async () => {
    const ash = table.players[0]!;
    const seat = await ash.client.joinUniverse(table.universeId, { role: "player", runId: ash.runId });
    try {
      // each break comes back: to the seat while reconnections are allowed, then as a join again
      for (let i = 0; i < JOINS; i++) await breakUntil(seat, Promise.resolve());
      expect(logged.some((line) => line.includes("reconnected too often"))).toBe(false);
      await breakUntil(seat, Promise.resolve());
      expect(logged.filter((line) => line.includes("reconnected too often"))).toHaveLength(1);
      expect((await seat.act({ kind: "custom", characterId: ash.characterId, text: "dusts off" })).ok).toBe(
        true,
      );
    } finally {
      await seat.leave();
    }
  });
});
