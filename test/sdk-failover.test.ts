import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import { connect } from "../client-sdk/src/index.ts";
import { spawnServer, tempDir, waitFor, type ChildServer } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";

// What a session does when the one process serving it is gone for good: commands wait for a
// seat, a bounded number of them, and when rejoining gives up each is answered for what it is —
// one sent on the lost connection may have been applied (outcome_unknown), one never sent was
// not (unavailable). None is dropped without an answer.

/**
 * The second scenario's server boots while the first one runs (the first's work is mostly waiting
 * for its session to give up; a second core is idle meanwhile).
 */
let stillRunning: Promise<ChildServer>;
beforeAll(() => {
  stillRunning = spawnServer({ DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir() }, 2659);
  stillRunning.catch(() => undefined);
});
afterAll(async () => {
  await (await stillRunning.catch(() => null))?.stop("SIGKILL");
});

describe("SDK: a server that does not come back", () => {
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  });

  it("holds commands while rejoining, refuses past the bound, and answers each when it gives up", async () => {
    const server = await spawnServer({ DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir() }, 2660);
    children.push(server);
    const table = await setTable(server.url, ["Alex"]);
    const alex = table.players[0]!;
    const client = connect(server.url, { failoverMs: 2_000, maxHeldCommands: 3 }).useToken(
      alex.client.playerToken!,
      alex.client.refreshToken,
    );
    const session = await client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const events: string[] = [];
    session.on("reconnecting", () => events.push("reconnecting"));
    session.on("leave", () => events.push("leave"));
    expect((await session.act(overcome(alex.characterId))).ok).toBe(true);

    // SIGSTOP: the connection stays open and the command goes out, but no answer comes
    server.process.kill("SIGSTOP");
    const inFlight = session.act(overcome(alex.characterId), { timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.process.kill("SIGKILL");
    await waitFor(() => events.includes("reconnecting"), 10_000, "the session to notice");
    const held = [1, 2].map(() => session.act(overcome(alex.characterId), { timeoutMs: 60_000 }));
    const refused = await session.act(overcome(alex.characterId));
    expect(refused).toMatchObject({ ok: false, rejection: { code: "unavailable" } });
    if (!refused.ok) expect(refused.rejection.message).toMatch(/already waiting; not sent/);

    const answers = await Promise.all([inFlight, ...held]);
    expect(answers.map((a) => (a.ok ? "ok" : a.rejection.code))).toEqual([
      "outcome_unknown",
      "unavailable",
      "unavailable",
    ]);
    expect(events).toEqual(["reconnecting", "leave"]);
  });
});

describe("SDK: a connection lost to a process that still runs", () => {
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  });

  it("takes the same seat back, without a rejoin, and plays on", async () => {
    const server = await stillRunning;
    children.push(server);
    const table = await setTable(server.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const events: string[] = [];
    session.on("reconnecting", () => events.push("reconnecting"));
    session.on("reconnected", () => events.push("reconnected"));
    expect((await session.act(overcome(alex.characterId))).ok).toBe(true);
    const seat = (session as unknown as { current: Room }).current;
    const sessionId = seat.sessionId;

    // the TCP connection breaks under the client (a network blip): no close frame, code 1006
    const socket = (seat.connection.transport as unknown as { ws: { _socket?: { destroy(): void } } }).ws;
    expect(socket._socket, "the Node.js WebSocket's TCP socket").toBeDefined();
    socket._socket!.destroy();
    await waitFor(() => events.includes("reconnected"), 10_000, "the seat back");

    // the same seat: Colyseus's reconnection, not a new join through the matchmaker
    const now = (session as unknown as { current: Room }).current;
    expect(now).toBe(seat);
    expect(now.sessionId).toBe(sessionId);
    expect(events).toEqual(["reconnecting", "reconnected"]);
    expect((await session.act(overcome(alex.characterId))).ok).toBe(true);
    expect(server.output()).not.toMatch(/ReferenceError|reconnection denied/);
    await session.leave();
  });
});
