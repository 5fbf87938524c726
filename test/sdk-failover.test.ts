import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import { RECENT_TURNS } from "@loom/shared";
import { connect, LoomError } from "../client-sdk/src/index.ts";
import { spawnServer, tempDir, waitFor, type ChildServer } from "./support/server.ts";
import { overcome, setTable, type Table } from "./support/players.ts";

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
  // one player plays fast in the last case
  stillRunning = spawnServer(
    { DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir(), LOOM_ACTIONS_PER_SECOND: "1000" },
    2659,
  );
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
    // an HTTP call to the server gone is refused with a code, not fetch's own error
    const unreached = await client.me().then(
      () => null,
      (error: unknown) => error,
    );
    expect(unreached).toBeInstanceOf(LoomError);
    expect(unreached).toMatchObject({ code: "unavailable" });
    expect((unreached as LoomError).message).toMatch(
      /^GET \/api\/\S+: the server could not be reached \(fetch failed\)$/,
    );
    // two servers boot at once here, which on a loaded machine outlasts the default timeout
  }, 90_000);
});

describe("SDK: a connection lost to a process that still runs", () => {
  // both cases use the server started first; afterAll stops it
  it("asks no server for a seat again once left from its own reconnecting listener", async () => {
    const server = await spawnServer({ DATABASE_URL: "", REDIS_URL: "", LOOM_DATA_DIR: tempDir() }, 2667);
    const table = await setTable(server.url, ["Alex"]);
    const alex = table.players[0]!;
    const session = await alex.client.joinUniverse(table.universeId, { role: "player", runId: alex.runId });
    const events: string[] = [];
    session.on("reconnecting", () => {
      events.push("reconnecting");
      void session.leave();
    });
    session.on("leave", () => events.push("leave"));
    // every request the SDK makes from here on goes through fetch; an /open asks for a seat
    const opens: string[] = [];
    const fetched = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
      if (url.endsWith("/open")) opens.push(url);
      return fetched(input, init);
    };
    try {
      // a graceful stop closes the room with a code a session rejoins after
      await server.stop("SIGTERM");
      await waitFor(() => events.includes("leave"), 10_000, "the session to end");
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      globalThis.fetch = fetched;
      await server.stop("SIGKILL");
    }
    expect(events).toEqual(["reconnecting", "leave"]);
    expect(opens).toEqual([]);
  });

  it("takes the same seat back, without a rejoin, and plays on", async () => {
    const server = await stillRunning;
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

  it("tells the turns decided while the seat was empty, once each and in order", async () => {
    const server = await stillRunning;
    const table = await setTable(server.url, ["Alex", "Bea"]);
    const [alex, bea] = table.players as [Table["players"][0], Table["players"][0]];
    const alexSession = await alex.client.joinUniverse(table.universeId, {
      role: "player",
      runId: alex.runId,
    });
    const beaSession = await bea.client.joinUniverse(table.universeId, { role: "player", runId: bea.runId });
    const heard: number[] = [];
    beaSession.on("turn", (turn) => heard.push(turn.position));
    const events: string[] = [];
    beaSession.on("reconnecting", () => events.push("reconnecting"));
    beaSession.on("reconnected", () => events.push("reconnected"));
    const before = await alexSession.act(overcome(alex.characterId, "wades in"));
    if (!before.ok) throw new Error(`Alex's act was refused: ${JSON.stringify(before)}`);
    // Bea's own arrival may be heard too: what is checked starts at Alex's first turn
    const first = before.turn.position;
    const fromFirst = () => heard.filter((position) => position >= first);
    await waitFor(() => heard.includes(first), 10_000, "Bea to hear the first turn");

    // Bea's connection breaks, and comes back on the same seat only after Alex has played on
    const seat = (beaSession as unknown as { current: Room }).current;
    Object.assign(seat.reconnection, { minDelay: 5_000, delay: 5_000, maxDelay: 5_000 });
    const socket = (seat.connection.transport as unknown as { ws: { _socket?: { destroy(): void } } }).ws;
    socket._socket!.destroy();
    await waitFor(() => events.includes("reconnecting"), 10_000, "Bea's session to notice");
    // more than the server sends again at a reconnection (RECENT_TURNS): the rest is read over HTTP
    const away: number[] = [];
    for (let i = 0; i < RECENT_TURNS + 10; i++) {
      const result = await alexSession.act(overcome(alex.characterId, `crosses ford ${i}`));
      if (!result.ok) throw new Error(`Alex's act was refused: ${JSON.stringify(result)}`);
      away.push(result.turn.position);
    }
    expect(events).toEqual(["reconnecting"]);
    await waitFor(() => events.includes("reconnected"), 10_000, "Bea's seat back");
    expect((beaSession as unknown as { current: Room }).current).toBe(seat);
    await waitFor(() => fromFirst().length >= 1 + away.length, 10_000, "the turns Bea missed");

    const after = await alexSession.act(overcome(alex.characterId, "rests"));
    if (!after.ok) throw new Error(`Alex's act was refused: ${JSON.stringify(after)}`);
    await waitFor(() => heard.includes(after.turn.position), 10_000, "the next turn");
    expect(fromFirst()).toEqual([first, ...away, after.turn.position]);
    // once each, in order, whatever was heard before
    expect(heard).toEqual([...new Set(heard)].sort((a, b) => a - b));
    expect(beaSession.turns.map((turn) => turn.position)).toEqual(expect.arrayContaining(heard));
    // their prose was told while she was away: she has it as recorded, read with the turns
    for (const position of [away[0]!, away.at(-1)!]) {
      const told = await Promise.race([
        beaSession.narrationText(position),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
      ]);
      expect(told, `the narration of turn ${position}`).toBe(
        (await bea.client.turn(table.universeId, position)).narration?.text,
      );
    }
    await Promise.all([alexSession.leave(), beaSession.leave()]);
  });
});
