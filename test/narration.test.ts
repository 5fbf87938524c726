import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import { matchMaker } from "@colyseus/core";
import postgres from "postgres";
import type { NarrationMessage, Turn } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import type { LoomConfig } from "../server/src/config.ts";
import { captureLog } from "../server/src/log.ts";
import {
  startChatServer,
  type ChatBehaviour,
  type ChatRequestSeen,
  type ChatServer,
} from "../server/src/narrator/testing/chat-server.ts";
import { openaiNarrator } from "./support/narrator.ts";
import { modes, spawnServer, startServer, tempDir, waitFor, type ChildServer } from "./support/server.ts";
import { breakUntil, joinAll, overcome, setTable, type Table } from "./support/players.ts";

/** Every narration message a session receives, in arrival order. */
function heard(session: UniverseSession): NarrationMessage[] {
  const messages: NarrationMessage[] = [];
  session.on("narration", (message) => messages.push(message));
  return messages;
}

/** The tellings of a position heard, in order: each its chunks joined, or the text its `done` carries. */
function tellings(messages: NarrationMessage[], position: number): string[] {
  const told: string[] = [];
  let chunks = "";
  for (const message of messages.filter((m) => m.position === position)) {
    chunks += message.chunk;
    if (!message.done) continue;
    told.push(message.text ?? chunks);
    chunks = "";
  }
  return told;
}

/** The turn as recorded, once it has its narration. */
async function recorded(client: LoomClient, universeId: string, position: number): Promise<Turn> {
  let turn: Turn | null | undefined = null;
  await waitFor(
    async () => {
      // the turn endpoint reads the TurnStore: a turn is there once persisted
      turn = await client.turn(universeId, position).catch(() => null);
      return turn?.narration != null;
    },
    10_000,
    `the narration of turn ${position}`,
  );
  return turn!;
}

/** Whether a request to the model asks for the prose of a turn whose deed is `deed`. */
function narrates(request: ChatRequestSeen, deed: string): boolean {
  const user = request.body.messages.find((m) => m.role === "user")?.content ?? "";
  return (user.split("## The turn to narrate")[1] ?? "").includes(deed);
}

/** The position a request to the model narrates. */
function narratedPosition(request: ChatRequestSeen): number | null {
  const user = request.body.messages.find((m) => m.role === "user")?.content ?? "";
  const match = /## The turn to narrate\n- Turn (\d+),/.exec(user);
  return match ? Number(match[1]) : null;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`narration with the template narrator, the default (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      server = await startServer(mode);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("tells each turn as it is made, inside the turn every member receives, and records it once on the turn", async () => {
      const table = await setTable(server.url, ["Alex", "Bea"]);
      const [alex, bea] = await joinAll(table);
      const alexHeard = heard(alex!);
      const beaHeard = heard(bea!);
      const beaTurns: Turn[] = [];
      bea!.on("turn", (turn) => beaTurns.push(turn));
      const result = await alex!.act(
        overcome(table.players[0]!.characterId, "wades across the flooded lane"),
      );
      if (!result.ok) throw new Error(result.rejection.message);
      const position = result.turn.position;
      // the turn carries its prose: the actor's, and every member's broadcast
      expect(result.turn.narration).toMatchObject({ narrator: "template", audience: "table" });
      const text = await bea!.narrationText(position);
      expect(result.turn.narration!.text).toBe(text);
      expect(beaTurns.find((t) => t.position === position)?.narration?.text).toBe(text);
      expect(text).toContain("wades across the flooded lane");
      expect(text).not.toMatch(/rolling|\(Fair/);
      await waitFor(
        () => alexHeard.some((m) => m.position === position && m.done),
        5_000,
        "Alex's narration",
      );
      // the SDK tells listeners as a telling's last message would have
      for (const messages of [alexHeard, beaHeard]) {
        const mine = messages.filter((m) => m.position === position);
        expect(mine).toEqual([
          { position, at: 0, chunk: "", done: true, text, narrator: "template", fallback: null },
        ]);
      }
      const yielded: string[] = [];
      for await (const chunk of bea!.narrationOf(position)) yielded.push(chunk);
      expect(yielded).toEqual([text]);
      const turn = await recorded(table.gm, table.universeId, position);
      expect(turn.narration).toEqual(result.turn.narration);
      expect(turn.narration).toMatchObject({ text, narrator: "template", audience: "table", fallback: null });
      expect(turn.narration!.seed).toEqual(expect.any(Number));
      // a player reads the same record; the timeline page carries it too
      expect((await table.players[1]!.client.turn(table.universeId, position)).narration?.text).toBe(text);
      const page = await table.gm.history(table.universeId);
      expect(page.turns.find((t) => t.position === position)?.narration?.text).toBe(text);
      await Promise.all([alex!.leave(), bea!.leave()]);
    });

    it("lets a game master retell a turn: streamed again, appended, the first telling kept", async () => {
      const table = await setTable(server.url, ["Dara"]);
      const [dara] = await joinAll(table);
      const result = await dara!.act(overcome(table.players[0]!.characterId, "climbs the sea wall"));
      if (!result.ok) throw new Error(result.rejection.message);
      const position = result.turn.position;
      const first = (await recorded(table.gm, table.universeId, position)).narration!;
      const daraHeard = heard(dara!);
      const again = await table.gm.retell(table.universeId, position);
      expect(again).toMatchObject({ narrator: "template", audience: "table", fallback: null });
      expect(again.seed).not.toBe(first.seed);
      expect(again.text).toContain("climbs the sea wall");
      // the first telling's last pieces may still be on their way when listening starts: the
      // retelling is the last one heard
      await waitFor(() => tellings(daraHeard, position).includes(again.text), 5_000, "the retelling");
      expect(tellings(daraHeard, position).at(-1)).toBe(again.text);
      // the session's telling starts over with the retelling
      expect(dara!.narrationSoFar(position)).toEqual({ text: again.text, done: true });
      const third = await table.gm.retell(table.universeId, position);
      const turn = await table.players[0]!.client.turn(table.universeId, position);
      expect(turn.narration).toEqual({ ...first, retellings: [again, third] });
      // a member joining now gets the turn with its retellings in the recent window
      const watching = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      await waitFor(() => watching.turns.some((t) => t.position === position), 5_000, "the recent window");
      expect(watching.turns.find((t) => t.position === position)?.narration).toEqual(turn.narration);
      await watching.leave();
      // only game masters retell, and only a turn that exists
      await expect(table.players[0]!.client.retell(table.universeId, position)).rejects.toMatchObject({
        status: 403,
      });
      await expect(table.gm.retell(table.universeId, position + 50)).rejects.toMatchObject({
        code: "not_found",
      });
      await dara!.leave();
    });

    it("keeps a recorded telling whole when its late pieces arrive after the room's recent turns", async () => {
      const table = await setTable(server.url, ["Esk"]);
      const [esk] = await joinAll(table);
      const result = await esk!.act(overcome(table.players[0]!.characterId, "rows against the tide"));
      if (!result.ok) throw new Error(result.rejection.message);
      const { position } = result.turn;
      const { text } = (await recorded(table.gm, table.universeId, position)).narration!;
      // a second tab: its `recent` carries the turn with its record
      const tab = await table.players[0]!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: table.players[0]!.runId,
      });
      await waitFor(() => tab.narrationSoFar(position) !== null, 5_000, "the recorded telling");
      // what a member hears when `recent` overtakes the end of the telling it records: the room's
      // last pieces of that same telling, delivered as the server sends them
      const deliver = (message: NarrationMessage) =>
        (tab.room as unknown as { dispatchMessage(type: string, message: unknown): void }).dispatchMessage(
          "narration",
          message,
        );
      const piece = text.slice(5, 12);
      deliver({ position, at: 5, chunk: piece, done: false });
      deliver({ position, at: 12, chunk: "", done: true, narrator: "template", fallback: null });
      expect(tab.narrationSoFar(position)).toEqual({ text, done: true });
      const yielded: string[] = [];
      for await (const chunk of tab.narrationOf(position)) yielded.push(chunk);
      expect(yielded.join("")).toBe(text);
      // a piece that disagrees with the record is another telling, whose `done` says what it is
      deliver({ position, at: 3, chunk: "!!", done: false });
      deliver({
        position,
        at: 5,
        chunk: "",
        done: true,
        text: "Told again!!",
        narrator: "template",
        fallback: null,
      });
      expect(await tab.narrationText(position)).toBe("Told again!!");
      await Promise.all([tab.leave(), esk!.leave()]);
    });

    it("tells a hidden roll to game masters alone", async () => {
      const table = await setTable(server.url, ["Cai"]);
      const [cai] = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const caiHeard = heard(cai!);
      const caiTurns: Turn[] = [];
      cai!.on("turn", (turn) => caiTurns.push(turn));
      const gmHeard = heard(gm);
      const result = await gm.act({
        ...overcome(table.players[0]!.characterId, "SECRET-DEED"),
        hidden: true,
      });
      if (!result.ok) throw new Error(result.rejection.message);
      const position = result.turn.position;
      const text = await gm.narrationText(position);
      expect(text).toContain("SECRET-DEED");
      // the game master's turn carries the prose, told to game masters
      expect(gm.turns.find((t) => t.position === position)?.narration).toMatchObject({
        text,
        audience: "gm",
      });
      expect(gmHeard.filter((m) => m.position === position).map((m) => m.text)).toEqual([text]);
      // a later public turn reaches Cai with its narration; the hidden one never did
      const later = await cai!.act(overcome(table.players[0]!.characterId));
      if (!later.ok) throw new Error(later.rejection.message);
      await cai!.narrationText(later.turn.position);
      expect(caiHeard.some((m) => m.position === position)).toBe(false);
      expect(JSON.stringify(caiHeard)).not.toContain("SECRET-DEED");
      // Cai's view of the hidden turn shows that it happened, without its prose
      const seen = caiTurns.find((t) => t.position === position);
      expect(seen).toMatchObject({ narration: null, resolution: null, events: [] });
      expect(JSON.stringify(caiTurns)).not.toContain("SECRET-DEED");
      expect(cai!.narrationSoFar(position)).toBeNull();
      const asGm = await recorded(table.gm, table.universeId, position);
      expect(asGm.narration).toMatchObject({ text, audience: "gm" });
      expect((await table.players[0]!.client.turn(table.universeId, position)).narration).toBeNull();
      await Promise.all([cai!.leave(), gm.leave()]);
    });
  });
}

describe("narration by an OpenAI-compatible endpoint (embedded)", () => {
  const mode = modes()[0]!;
  let endpoint: ChatServer;
  let behaviour: (n: number, request: ChatRequestSeen) => ChatBehaviour = () => ({});
  let server: (LoomServer & { url: string }) | null = null;
  const dataDir = tempDir("loom-narration-");

  beforeAll(async () => {
    endpoint = await startChatServer((n, request) => behaviour(n, request));
  });
  afterAll(async () => {
    await server?.shutdown();
    await endpoint.close();
  });

  /**
   * A server narrating through the local endpoint (a restart when one runs: same data directory).
   * Its tellings get time enough on a loaded machine: one that runs out of it puts the endpoint
   * to rest, and the next tellings would go to the template.
   */
  const start = async (overrides: Partial<LoomConfig> = {}) => {
    await server?.shutdown();
    server = await startServer(mode, {
      dataDir,
      inMemory: false,
      narrator: openaiNarrator(endpoint.url, { timeoutMs: 5_000 }),
      ...overrides,
    });
    return server;
  };

  let table: Table;
  let told: { position: number; text: string };

  it("streams the model's chunks to two players in order, then records the text with its audit fields", async () => {
    behaviour = () => ({ chunks: ["The marsh ", "gives way ", "under Alex's boots."], chunkDelayMs: 30 });
    const { url } = await start();
    table = await setTable(url, ["Alex", "Bea"]);
    const [alex, bea] = await joinAll(table);
    const alexHeard = heard(alex!);
    const beaHeard = heard(bea!);
    const asked = endpoint.requests.length;
    const result = await alex!.act(overcome(table.players[0]!.characterId));
    if (!result.ok) throw new Error(result.rejection.message);
    const position = result.turn.position;
    const streamed: string[] = [];
    for await (const chunk of bea!.narrationOf(position)) streamed.push(chunk);
    expect(streamed.join("")).toBe("The marsh gives way under Alex's boots.");
    await waitFor(() => alexHeard.some((m) => m.position === position && m.done), 5_000, "Alex's narration");
    for (const messages of [alexHeard, beaHeard]) {
      const mine = messages.filter((m) => m.position === position);
      // the first chunk leaves at once; later ones may share a message, the last rides on `done`
      expect(mine[0]!.chunk).toBe("The marsh ");
      expect(mine.map((m) => m.chunk).join("")).toBe("The marsh gives way under Alex's boots.");
      expect(mine.map((m) => m.done)).toEqual([...mine.slice(1).map(() => false), true]);
      expect(mine.length).toBeLessThanOrEqual(4);
      // the pieces spell the recorded text, so `done` does not carry it again
      expect(mine.at(-1)!.text).toBeUndefined();
    }
    expect(await alex!.narrationText(position)).toBe("The marsh gives way under Alex's boots.");
    const turn = await recorded(table.gm, table.universeId, position);
    expect(turn.narration).toMatchObject({
      text: "The marsh gives way under Alex's boots.",
      narrator: "openai-compatible",
      model: "story-7b",
      endpoint: new URL(endpoint.url).host,
      tokens: { prompt: 100, completion: 7 },
      fallback: null,
      audience: "table",
    });
    expect(turn.narration!.promptHash).toMatch(/^[0-9a-f]{64}$/);
    expect(turn.narration!.latencyMs).toBeGreaterThanOrEqual(60);
    expect(turn.narration!.parameters).toMatchObject({ seed: turn.narration!.seed, model: "story-7b" });
    // a player reads the prose and who told it, not how the operator runs the narrator
    const players = (await recorded(table.players[1]!.client, table.universeId, position)).narration!;
    expect(players).toMatchObject({
      text: turn.narration!.text,
      model: "story-7b",
      promptHash: null,
      tokens: null,
    });
    for (const audit of ["endpoint", "parameters", "latencyMs"]) expect(players).not.toHaveProperty(audit);
    // the prompt told the table's story and none of its secrets
    const prompt = JSON.stringify(endpoint.requests.slice(asked));
    expect(prompt).toContain("The Salt Marches");
    expect(prompt).not.toContain("gmNotes");
    told = { position, text: turn.narration!.text };
    await Promise.all([alex!.leave(), bea!.leave()]);
  });

  it("never delays turns or acks for a slow endpoint, and the template stands in when it times out", async () => {
    // an answer after 20 s is none within the telling's 5 s
    behaviour = () => ({ delayMs: 20_000 });
    const player = connect(server!.url).useToken(table.players[0]!.client.playerToken!);
    const session = await player.joinUniverse(table.universeId, {
      role: "player",
      runId: table.players[0]!.runId,
    });
    const acks: number[] = [];
    const positions: number[] = [];
    const lines: string[] = [];
    const restore = captureLog((line) => lines.push(line), "info");
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const result = await session.act(overcome(table.players[0]!.characterId, `crosses stone ${i}`));
      acks.push(performance.now() - started);
      if (!result.ok) throw new Error(result.rejection.message);
      positions.push(result.turn.position);
    }
    // a turn held for the model would wait its 5 s; a busy machine's ack is well under one
    expect(Math.max(...acks)).toBeLessThan(1_000);
    for (const position of positions) {
      const turn = await recorded(table.gm, table.universeId, position);
      expect(turn.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: timeout" });
      expect(turn.narration!.text).toContain(`crosses stone ${positions.indexOf(position)}`);
      expect(await session.narrationText(position)).toBe(turn.narration!.text);
    }
    // and once it tells again, that is said: asked after it has rested as long as a telling may
    // take (the turns after a timeout go to the template at once meanwhile)
    behaviour = () => ({ chunks: ["The stones hold."] });
    await new Promise((resolve) => setTimeout(resolve, 5_200));
    const again = await session.act(overcome(table.players[0]!.characterId, "crosses the last stone"));
    if (!again.ok) throw new Error(again.rejection.message);
    expect((await recorded(table.gm, table.universeId, again.turn.position)).narration).toMatchObject({
      narrator: "openai-compatible",
    });
    restore();
    // (her arrival's telling timed out too, and so may the end of the sessions before, told late)
    const recovered = lines
      .map((line) => /tells turns of .* again, after (\d+) told by the template/.exec(line)?.[1])
      .filter((count) => count !== undefined);
    expect(recovered).toHaveLength(1);
    expect(Number(recovered[0])).toBeGreaterThanOrEqual(4);
    // an endpoint down is said once, with its error, not at every turn it fails
    const failures = lines.filter(
      (line) => line.includes("narrator openai-compatible") && line.includes(`"level":"warn"`),
    );
    expect(failures, failures.join("\n")).toHaveLength(1);
    expect(JSON.parse(failures[0]!)).toMatchObject({
      level: "warn",
      code: "timeout",
      err: expect.anything(),
    });
    await session.leave();
  });

  it("after a restart shows the recorded text and asks the model nothing again", async () => {
    behaviour = () => ({ chunks: ["A different telling."] });
    const { url } = await start();
    const asked = endpoint.requests.length;
    const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(endpoint.requests.length).toBe(asked);
    const fresh = connect(url).useToken(table.gm.playerToken!);
    expect((await fresh.turn(table.universeId, told.position)).narration?.text).toBe(told.text);
    expect(gm.turns.find((t) => t.position === told.position)?.narration?.text).toBe(told.text);
    // jump and replay read the same record
    const page = await fresh.history(table.universeId, { cursor: told.position - 1, limit: 1, order: "asc" });
    expect(page.turns.find((t) => t.position === told.position)?.narration?.text).toBe(told.text);
    await gm.leave();
  });

  it("retells a turn from the world as that turn left it, not as it is now", async () => {
    behaviour = () => ({ chunks: ["Told again."] });
    const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
    // the story moves on after the turn: a branch sharing the turn may not know of this, nor may its prose
    const later = await gm.act({
      kind: "scene",
      title: "The Cathedral of Later Days",
      aspects: ["Flooded later nave"],
    });
    if (!later.ok) throw new Error(later.rejection.message);
    const asked = endpoint.requests.length;
    const again = await table.gm.retell(table.universeId, told.position);
    expect(again).toMatchObject({ text: "Told again.", narrator: "openai-compatible" });
    // the scene's own telling may be among them
    const retold = endpoint.requests.slice(asked).filter((r) => narratedPosition(r) === told.position);
    expect(retold).toHaveLength(1);
    const prompt = JSON.stringify(retold);
    expect(prompt).toContain("The Salt Marches");
    expect(prompt).not.toContain("Cathedral of Later Days");
    expect(prompt).not.toContain("Flooded later nave");
    await gm.leave();
  });

  it("answers a retelling within one try's time whatever the retries: the template tells it past that", async () => {
    // only the retelling waits: a telling the room owes that timed out first would put the endpoint
    // to rest, and the retelling would go to the template without asking it
    behaviour = (_, request) => (narratedPosition(request) === told.position ? { delayMs: 20_000 } : {});
    await start({ narrator: openaiNarrator(endpoint.url, { timeoutMs: 1_000, retries: 2 }) });
    const asked = endpoint.requests.length;
    const again = await table.gm.retell(table.universeId, told.position);
    expect(again).toMatchObject({ narrator: "template", fallback: "openai-compatible: timeout" });
    // the model was asked once at most (not at all when a telling of the new room ran out of time
    // first, on a loaded machine, and put it to rest): its retries would have kept the game master
    // waiting three times as long
    const retold = endpoint.requests.slice(asked).filter((r) => narratedPosition(r) === told.position);
    expect(retold.length).toBeLessThanOrEqual(1);
    const turn = await table.gm.turn(table.universeId, told.position);
    expect(turn.narration!.retellings!.at(-1)).toMatchObject({ text: again.text, fallback: again.fallback });
  });

  it("gives a member whose connection was lost mid-telling the recorded text, not the pieces it got", async () => {
    const whole = ["The tide ", "turns ", "against ", "them, ", "and Alex ", "holds ", "the line."];
    // the order is set by cues, not clocks, so a busy machine cannot change it: the second piece
    // waits for Bea's connection to break, Bea comes back once Alex has heard that piece (it was
    // sent while she was away), and the rest of the telling waits for her to be back
    let broken!: () => void;
    const brokenYet = new Promise<void>((resolve) => (broken = resolve));
    let back!: () => void;
    const backYet = new Promise<void>((resolve) => (back = resolve));
    behaviour = (_, request) =>
      narrates(request, "holds the dyke")
        ? { chunks: whole, beforeChunk: (i) => (i === 1 ? brokenYet : i === 2 ? backYet : undefined) }
        : {};
    // the telling, and the empty seat, are given as long as a loaded machine may take
    const { url } = await start({
      reconnectSeconds: 30,
      narrator: openaiNarrator(endpoint.url, { timeoutMs: 30_000 }),
    });
    const lost = await setTable(url, ["Alex", "Bea"]);
    const [alex, bea] = await joinAll(lost);
    const alexHeard = heard(alex!);
    const beaHeard = heard(bea!);
    bea!.on("reconnected", () => back());
    const result = await alex!.act(overcome(lost.players[0]!.characterId, "holds the dyke"));
    if (!result.ok) throw new Error(result.rejection.message);
    const position = result.turn.position;
    await waitFor(() => beaHeard.some((m) => m.position === position), 5_000, "the first piece");
    // Bea's connection breaks after the first piece and comes back on the same seat later
    const bea$ = bea as unknown as { current: Room };
    const seat = bea$.current;
    const connection = seat.connection as unknown as { reconnect(...args: unknown[]): void };
    const reconnect = connection.reconnect.bind(connection);
    const spoken = (messages: NarrationMessage[]) =>
      messages
        .filter((m) => m.position === position)
        .map((m) => m.chunk)
        .join("");
    const missed = waitFor(
      () => spoken(alexHeard).includes(whole[1]!),
      30_000,
      "Alex to hear the second piece",
    );
    connection.reconnect = (...args) => void missed.then(() => reconnect(...args));
    const socket = (seat.connection.transport as unknown as { ws: { _socket?: { destroy(): void } } }).ws;
    socket._socket!.destroy();
    broken();
    await missed;
    expect(await bea!.narrationText(position)).toBe(whole.join(""));
    // the same seat came back: no rejoin through the matchmaker
    expect(bea$.current).toBe(seat);
    expect(bea!.narrationSoFar(position)).toEqual({ text: whole.join(""), done: true });
    // what Bea heard does not spell the telling: pieces were lost with the connection
    expect(tellings(beaHeard, position)).not.toEqual([whole.join("")]);
    expect(await alex!.narrationText(position)).toBe(whole.join(""));
    await Promise.all([alex!.leave(), bea!.leave()]);
  });

  it("ends a telling a member heard only in part, the model's or the template's, once she is back after it ended", async () => {
    const { url } = await start({
      reconnectSeconds: 30,
      narrator: openaiNarrator(endpoint.url, { timeoutMs: 30_000 }),
    });
    const away = await setTable(url, ["Alex", "Bea"]);
    const [alex, bea] = await joinAll(away);
    /**
     * Bea hears the first piece of a telling, loses her connection, and gets the same seat back
     * only once Alex has heard the telling end: she never hears its end as it is told.
     */
    const toldWhileAway = async (deed: string, pieces: string[], breakAfter?: number) => {
      let broken!: () => void;
      const brokenYet = new Promise<void>((resolve) => (broken = resolve));
      behaviour = (_, request) =>
        narrates(request, deed)
          ? { chunks: pieces, breakAfter, beforeChunk: (i) => (i === 1 ? brokenYet : undefined) }
          : {};
      const beaHeard = heard(bea!);
      const result = await alex!.act(overcome(away.players[0]!.characterId, deed));
      if (!result.ok) throw new Error(result.rejection.message);
      const position = result.turn.position;
      await waitFor(() => beaHeard.some((m) => m.position === position), 5_000, "the first piece");
      const ended = alex!.narrationText(position);
      const backYet = breakUntil(bea!, ended);
      broken();
      const text = await ended;
      await backYet;
      await waitFor(() => bea!.narrationSoFar(position)?.done === true, 10_000, "Bea's telling to end");
      expect(bea!.narrationSoFar(position)).toEqual({ text, done: true });
      expect(await bea!.narrationText(position)).toBe(text);
      // the end she missed is told to her listeners as the telling would have ended
      expect(beaHeard.filter((m) => m.position === position && m.done).map((m) => m.text)).toEqual([text]);
      expect((await recorded(away.gm, away.universeId, position)).narration?.text).toBe(text);
      return { position, text };
    };
    const whole = ["The gate ", "swings ", "open ", "for Alex."];
    expect((await toldWhileAway("opens the gate", whole)).text).toBe(whole.join(""));
    // the model breaks off after its first piece: the template's prose is the record
    const fallen = await toldWhileAway("forces the door", ["The door ", "groans ", "and holds."], 1);
    expect(fallen.text.startsWith("The door ")).toBe(false);
    expect((await recorded(away.gm, away.universeId, fallen.position)).narration?.fallback).toBeTruthy();
    await Promise.all([alex!.leave(), bea!.leave()]);
  });

  it("lets a player who left come straight back while the model has told nothing of her last turn: the next room tells it, once", async () => {
    const { url } = await start({ narrator: openaiNarrator(endpoint.url, { timeoutMs: 20_000 }) });
    const bell = await setTable(url, ["Alex"]);
    const alex = bell.players[0]!;
    let asked = 0;
    // the model hangs on her deed the first time it is asked, and tells it the second
    behaviour = (_, request) =>
      narrates(request, "rings the bell")
        ? asked++ === 0
          ? { delayMs: 15_000 }
          : { chunks: ["The bell ", "rings out."] }
        : {};
    const [session] = await joinAll(bell);
    const result = await session!.act(overcome(alex.characterId, "rings the bell"));
    if (!result.ok) throw new Error(result.rejection.message);
    await waitFor(() => asked === 1, 5_000, "the model to be asked");
    await session!.leave();
    const room = () =>
      matchMaker.getLocalRoomById(bell.universeId) as unknown as { disposing: boolean } | undefined;
    await waitFor(() => room()?.disposing !== false, 5_000, "the room to close");
    const started = performance.now();
    const back = await alex.client.joinUniverse(bell.universeId, { role: "player", runId: alex.runId });
    const waited = performance.now() - started;
    // the closing room waited up to 5 s for the model before letting the universe open again
    expect(waited).toBeLessThan(2_500);
    expect(await back.narrationText(result.turn.position)).toBe("The bell rings out.");
    expect((await recorded(bell.gm, bell.universeId, result.turn.position)).narration).toMatchObject({
      narrator: "openai-compatible",
      text: "The bell rings out.",
      fallback: null,
    });
    expect(asked).toBe(2);
    await back.leave();
  });
});

describe.skipIf(!modes()[1]!.available)("narration by an OpenAI-compatible endpoint (postgres+redis)", () => {
  const mode = modes()[1]!;
  let endpoint: ChatServer;
  let behaviour: (n: number, request: ChatRequestSeen) => ChatBehaviour = () => ({});
  let server: (LoomServer & { url: string }) | null = null;
  let database: postgres.Sql;

  beforeAll(async () => {
    endpoint = await startChatServer((n, request) => behaviour(n, request));
    database = postgres(mode.databaseUrl!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await server?.shutdown();
    await endpoint.close();
    await database.end();
  });

  it("tells a member seated again the end she missed while its record is still being written", async () => {
    const whole = ["The bridge ", "holds ", "under Alex."];
    // the telling goes on once its turn is stored and that row is locked, so that the record
    // of the telling waits for the lock (a slow database) while the table hears it end
    let lockedYet!: () => void;
    const locked = new Promise<void>((resolve) => (lockedYet = resolve));
    behaviour = (_, request) =>
      narrates(request, "crosses the bridge")
        ? { chunks: whole, beforeChunk: (i) => (i === 1 ? locked : undefined) }
        : {};
    server = await startServer(mode, {
      reconnectSeconds: 30,
      narrator: openaiNarrator(endpoint.url, { timeoutMs: 30_000 }),
    });
    const table = await setTable(server.url, ["Alex", "Bea"]);
    const [alex, bea] = await joinAll(table);
    const beaHeard = heard(bea!);
    const result = await alex!.act(overcome(table.players[0]!.characterId, "crosses the bridge"));
    if (!result.ok) throw new Error(result.rejection.message);
    const position = result.turn.position;
    await waitFor(() => beaHeard.some((m) => m.position === position), 5_000, "the first piece");
    const row = () =>
      database<Array<{ unset: boolean }>>`select narration is null as unset from turns
        where universe_id = ${table.universeId} and position = ${position}`;
    await waitFor(async () => (await row()).length === 1, 10_000, "the turn to be stored");
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const lock = database.begin(async (tx) => {
      await tx`select 1 from turns where universe_id = ${table.universeId} and position = ${position} for update`;
      holding();
      await released;
    });
    await held;
    // Bea's connection breaks after the first piece; she gets her seat back once Alex has heard
    // the telling end
    const ended = alex!.narrationText(position);
    const backYet = breakUntil(bea!, ended);
    lockedYet();
    try {
      const text = await ended;
      expect(text).toBe(whole.join(""));
      await backYet;
      // then she hears the end she missed while the record still waits
      await waitFor(() => bea!.narrationSoFar(position)?.done === true, 10_000, "Bea's telling to end");
      expect(bea!.narrationSoFar(position)).toEqual({ text, done: true });
      expect(beaHeard.filter((m) => m.position === position && m.done).map((m) => m.text)).toEqual([text]);
      expect(await row()).toEqual([{ unset: true }]);
    } finally {
      release();
      await lock;
    }
    // and the record is written once the row is free
    expect((await recorded(table.gm, table.universeId, position)).narration?.text).toBe(whole.join(""));
    await Promise.all([alex!.leave(), bea!.leave()]);
  });

  it("records a telling the database refused at first once it takes it: the text the table heard, not a new one", async () => {
    await server?.shutdown();
    const whole = ["The gate ", "swings open."];
    let refusingYet!: () => void;
    const refusing = new Promise<void>((resolve) => (refusingYet = resolve));
    behaviour = (_, request) =>
      narrates(request, "opens the gate")
        ? { chunks: whole, beforeChunk: (i) => (i === 1 ? refusing : undefined) }
        : {};
    server = await startServer(mode, { narrator: openaiNarrator(endpoint.url, { timeoutMs: 30_000 }) });
    const table = await setTable(server.url, ["Alex"]);
    const [alex] = await joinAll(table);
    const alexHeard = heard(alex!);
    const universe = table.universeId;
    expect(universe).toMatch(/^[0-9a-f-]{36}$/);
    const result = await alex!.act(overcome(table.players[0]!.characterId, "opens the gate"));
    if (!result.ok) throw new Error(result.rejection.message);
    const { position } = result.turn;
    const row = () =>
      database<Array<{ text: string | null }>>`select narration->>'text' as text from turns
        where universe_id = ${universe} and position = ${position}`;
    await waitFor(async () => (await row()).length === 1, 10_000, "the turn to be stored");
    // the database refuses the first two writes of the turn's narration, as one restarting or
    // failing over would
    await database.unsafe(`
      create sequence narration_refusals;
      create function refuse_narration() returns trigger language plpgsql as $$
        begin
          if nextval('narration_refusals') <= 2 then raise exception 'narration write refused'; end if;
          return new;
        end $$;
      create trigger refuse_narration before update on turns for each row
        when (old.universe_id = '${universe}' and old.position = ${position}
          and old.narration is null and new.narration is not null)
        execute function refuse_narration();`);
    try {
      refusingYet();
      const text = await alex!.narrationText(position);
      expect(text).toBe(whole.join(""));
      await waitFor(async () => (await row())[0]!.text !== null, 10_000, "the narration to be stored");
      expect(await row()).toEqual([{ text }]);
      const [refusals] = await database<
        Array<{ tries: string }>
      >`select last_value as tries from narration_refusals`;
      expect(Number(refusals!.tries)).toBe(3);
      expect(tellings(alexHeard, position)).toEqual([text]);
    } finally {
      await database.unsafe(`
        drop trigger refuse_narration on turns;
        drop function refuse_narration();
        drop sequence narration_refusals;`);
    }
    await alex!.leave();
  });
});

describe("narration across kill -9 (embedded, on disk)", () => {
  /** An embedded server's environment on `dataDir`, telling through the endpoint at a URL. */
  const narratingOnDisk = (dataDir: string) => (url: string) => ({
    DATABASE_URL: "",
    REDIS_URL: "",
    LOOM_DATA_DIR: dataDir,
    LOOM_NARRATOR_URL: url,
    LOOM_NARRATOR_MODEL: "story-7b",
    LOOM_NARRATOR_TIMEOUT_MS: "120000",
  });

  const children: ChildServer[] = [];
  const endpoints: ChatServer[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
    await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
  });

  it("narrates a turn whose narration was in flight at the kill exactly once, by the next process", async () => {
    // the first endpoint streams one chunk of the action's prose and then hangs: that narration is
    // in flight at the kill (the turns of joining are told at once)
    const hanging = await startChatServer((_, request) =>
      narrates(request, "pushes through the marsh")
        ? { chunks: ["Half a ", "tale"], chunkDelayMs: 60_000 }
        : { chunks: ["Alex arrives."] },
    );
    const steady = await startChatServer((_, request) =>
      narrates(request, "pushes through the marsh") ? { chunks: ["The whole ", "tale, told once."] } : {},
    );
    endpoints.push(hanging, steady);
    const env = narratingOnDisk(tempDir("loom-narration-kill-"));
    const first = await spawnServer(env(hanging.url), 2641);
    children.push(first);
    const table = await setTable(first.url, ["Alex"]);
    const [alex] = await joinAll(table);
    await waitFor(
      async () => (await table.gm.history(table.universeId)).turns.every((turn) => turn.narration !== null),
      10_000,
      "the turns of joining to be narrated and recorded",
    );
    const result = await alex!.act(overcome(table.players[0]!.characterId));
    if (!result.ok) throw new Error(result.rejection.message);
    const position = result.turn.position;
    const pieces = alex!.narrationOf(position);
    expect((await pieces.next()).value).toBe("Half a ");
    await first.stop("SIGKILL");

    const second = await spawnServer(env(steady.url), 2641);
    children.push(second);
    const gm = connect(second.url).useToken(table.gm.playerToken!);
    const watching = await gm.joinUniverse(table.universeId, { role: "gm" });
    const turn = await recorded(gm, table.universeId, position);
    expect(turn.narration).toMatchObject({
      text: "The whole tale, told once.",
      narrator: "openai-compatible",
    });
    expect(steady.requests.filter((request) => narrates(request, "pushes through the marsh"))).toHaveLength(
      1,
    );
    // the turns narrated before the kill are not told again (the next process may add turns of
    // its own, such as closing the session the kill left open, and tells those)
    expect(steady.requests.map(narratedPosition).filter((p) => p === null || p < position)).toEqual([]);
    await watching.leave();
    // two servers boot one after the other, each half a minute or more on a loaded machine
  }, 180_000);

  it("narrates a universe's first turn, cut off by the kill while the turn after it was told", async () => {
    // tellings run side by side: the second turn is told and recorded while the first still streams
    const hanging = await startChatServer((_, request) =>
      narrates(request, "The first bell")
        ? { chunks: ["The first ", "bell"], chunkDelayMs: 60_000 }
        : { chunks: ["The second bell rings."] },
    );
    const steady = await startChatServer(() => ({ chunks: ["The first bell, ", "told at last."] }));
    endpoints.push(hanging, steady);
    const env = narratingOnDisk(tempDir("loom-narration-first-"));
    const first = await spawnServer(env(hanging.url), 2641);
    children.push(first);
    const keeper = connect(first.url);
    await keeper.registerPlayer("Keeper");
    const universe = await keeper.createUniverse({ name: "Bell Tower" });
    const table = await keeper.joinUniverse(universe.id, { role: "gm" });
    const acted = await table.act({ kind: "world_event", text: "The first bell tolls." });
    if (!acted.ok) throw new Error(acted.rejection.message);
    const bell = acted.turn.position;
    expect((await table.narrationOf(bell).next()).value).toBe("The first ");
    const next = await table.act({ kind: "world_event", text: "The second bell answers." });
    if (!next.ok) throw new Error(next.rejection.message);
    expect((await recorded(keeper, universe.id, next.turn.position)).narration?.text).toBe(
      "The second bell rings.",
    );
    await first.stop("SIGKILL");

    const second = await spawnServer(env(steady.url), 2641);
    children.push(second);
    const gm = connect(second.url).useToken(keeper.playerToken!);
    const watching = await gm.joinUniverse(universe.id, { role: "gm" });
    expect((await recorded(gm, universe.id, bell)).narration).toMatchObject({
      text: "The first bell, told at last.",
      narrator: "openai-compatible",
    });
    // told once, and the turn told before the kill not again
    expect(
      steady.requests.map(narratedPosition).filter((p) => p !== null && p <= next.turn.position),
    ).toEqual([bell]);
    await watching.leave();
  }, 180_000);

  it("narrates every turn left untold at the kill, those older than the recent window too, by the model and once each", async () => {
    // the first endpoint never answers, and no turn is handed to the template as a backlog: at the
    // kill every turn waits for its prose, many more than the next owner's recent window holds
    const holding = await startChatServer(() => ({ chunks: ["Never told."], delayMs: 600_000 }));
    const steady = await startChatServer((_, request) => ({
      chunks: [`Bell ${narratedPosition(request)}`, ", told."],
    }));
    endpoints.push(holding, steady);
    const env = narratingOnDisk(tempDir("loom-narration-untold-"));
    const first = await spawnServer({ ...env(holding.url), LOOM_NARRATOR_BACKLOG: "1000" }, 2641);
    children.push(first);
    const keeper = connect(first.url);
    await keeper.registerPlayer("Keeper");
    const universe = await keeper.createUniverse({ name: "Long Night" });
    const table = await keeper.joinUniverse(universe.id, { role: "gm" });
    let head = 0;
    for (let bell = 1; bell <= 220; bell++) {
      const acted = await table.act({ kind: "world_event", text: `Bell ${bell} tolls.` });
      if (!acted.ok) throw new Error(acted.rejection.message);
      head = acted.turn.position;
    }
    // the database has every turn, untold, and the dashboard counts them all, not the newest 50
    await waitFor(
      async () => (await keeper.dashboard(universe.id)).persistedThrough === head,
      20_000,
      "persistence",
    );
    expect((await keeper.dashboard(universe.id)).narration.untold).toBe(head);
    await first.stop("SIGKILL");

    // the next process tells them all with the model at its default backlog of 20, oldest first
    const second = await spawnServer(env(steady.url), 2641);
    children.push(second);
    const gm = connect(second.url).useToken(keeper.playerToken!);
    const watching = await gm.joinUniverse(universe.id, { role: "gm" });
    let turns: Turn[] = [];
    await waitFor(
      async () => {
        turns = (await gm.history(universe.id, { order: "asc", limit: 500 })).turns.filter(
          (turn) => turn.position <= head,
        );
        return turns.every((turn) => turn.narration !== null);
      },
      // a loaded machine stretches each telling's round trip to the endpoint and the record
      60_000,
      "every turn to be narrated",
    ).catch((error: unknown) => {
      const untold = turns.filter((turn) => turn.narration === null).map((turn) => turn.position);
      throw new Error(`${String(error)}: untold ${untold.join(",")}\n${second.output().slice(-4000)}`);
    });
    expect(turns).toHaveLength(head);
    for (const turn of turns)
      expect(turn.narration, `turn ${turn.position}`).toMatchObject({
        text: `Bell ${turn.position}, told.`,
        narrator: "openai-compatible",
        fallback: null,
      });
    const asked = steady.requests.map(narratedPosition).filter((p) => p !== null && p <= head);
    expect([...asked].sort((a, b) => a! - b!)).toEqual(turns.map((turn) => turn.position));
    expect((await gm.dashboard(universe.id)).narration.untold).toBe(0);
    await watching.leave();
  }, 180_000);
});
