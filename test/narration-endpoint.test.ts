import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NarrationMessage, Turn } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { loadConfig } from "../server/src/config.ts";
import { readExport } from "../server/src/export/index.ts";
import { captureLog } from "../server/src/log.ts";
import { tellingCharBound } from "../server/src/narrator/openai-narrator.ts";
import type { NarratorConfig } from "../server/src/config.ts";
import {
  startChatServer,
  type ChatBehaviour,
  type ChatRequestSeen,
  type ChatServer,
} from "../server/src/narrator/testing/chat-server.ts";
import { openaiNarrator } from "./support/narrator.ts";
import { modes, startServer, tempDir, waitFor } from "./support/server.ts";
import { joinAll, overcome, setTable, type Table } from "./support/players.ts";

/** The key the endpoint of "an endpoint's answer taken as input" is configured with. */
const API_KEY = "sk-loom-test-7d0c1e5a9b3f4d2c8e6a";

/** A control character other than a line feed or a tab, or a bidirectional control. */
const UNPLAIN = /(?![\n\t])\p{Cc}|[\u202A-\u202E\u2066-\u2069]/u;

/**
 * What a model's endpoint answers is input from outside like any client's: a misconfigured or
 * broken endpoint may stream text Postgres cannot store, or far more than was asked for. Neither
 * may stop a universe from recording, exporting or being imported again.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`an endpoint's answer taken as input (${mode.name})`, () => {
    let endpoint: ChatServer;
    let behaviour: (n: number, request: ChatRequestSeen) => ChatBehaviour = () => ({});
    let server: LoomServer & { url: string };
    let table: Table;
    let session: UniverseSession;
    const heard: NarrationMessage[] = [];

    beforeAll(async () => {
      endpoint = await startChatServer((n, request) => behaviour(n, request));
      server = await startServer(mode, {
        port: 2645,
        narrator: openaiNarrator(endpoint.url, { timeoutMs: 5_000, apiKey: API_KEY }),
      });
      table = await setTable(server.url, ["Alex"]);
      session = (await joinAll(table))[0]!;
      session.on("narration", (message) => heard.push(message));
    });
    afterAll(async () => {
      await session?.leave();
      await server?.shutdown();
      await endpoint?.close();
    });

    /** Acts, then waits for the turn's narration to be recorded and read back over HTTP. */
    async function actAndRecord(description: string): Promise<Turn> {
      const result = await session.act(overcome(table.players[0]!.characterId, description));
      if (!result.ok) throw new Error(result.rejection.message);
      const { position } = result.turn;
      let turn: Turn | null = null;
      await waitFor(
        async () => {
          turn = await table.gm.turn(table.universeId, position).catch(() => null);
          return turn?.narration != null;
        },
        15_000,
        `the narration of turn ${position}`,
      );
      await waitFor(() => heard.some((m) => m.position === position && m.done), 5_000, "the telling's end");
      return turn!;
    }

    async function exported(format: "jsonl" | "markdown"): Promise<string> {
      const response = await fetch(
        `${server.url}/api/universes/${table.universeId}/export?format=${format}`,
        {
          headers: { authorization: `Bearer ${table.gm.playerToken}` },
        },
      );
      expect(response.status).toBe(200);
      return response.text();
    }

    async function exportedLines(): Promise<string[]> {
      return (await exported("jsonl")).split("\n").filter((line) => line !== "");
    }

    /** Runs `fn` with the server's log lines of level warn and above gathered; returns them. */
    async function warnings(fn: () => Promise<void>): Promise<string[]> {
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line), "warn");
      try {
        await fn();
      } finally {
        restore();
      }
      return lines;
    }

    /**
     * A turn the model tells: the universe's stretch of failures, if any, ends, and the next
     * failure is logged with its error.
     */
    async function toldByTheModel(): Promise<void> {
      behaviour = () => ({ chunks: ["The wind drops."] });
      expect((await actAndRecord("waits for the wind")).narration).toMatchObject({ fallback: null });
    }

    it("records text Postgres cannot store (NUL, a lone surrogate) as text it can, and the export imports again", async () => {
      behaviour = () => ({ chunks: ["The tide\u0000 turns ", "under a \ud800 moon."] });
      const turn = await actAndRecord("wades into the estuary");
      expect(turn.narration).toMatchObject({ narrator: "openai-compatible", fallback: null });
      const text = turn.narration!.text;
      expect(text).toBe("The tide\ufffd turns under a \ufffd moon.");
      // what the table heard spells what was recorded
      const told = heard.filter((m) => m.position === turn.position);
      expect(told.at(-1)!.text ?? told.map((m) => m.chunk).join("")).toBe(text);
      // the universe goes on, and its export is one Loom reads back
      const next = await actAndRecord("climbs the sea wall");
      expect(next.position).toBe(turn.position + 1);
      const lines = await exportedLines();
      let turns = 0;
      for await (const item of readExport(
        (async function* () {
          yield* lines;
        })(),
      ))
        if (item.kind === "turn") turns += 1;
      expect(turns).toBeGreaterThanOrEqual(next.position);
    });

    it("records the model it was asked for, and no token counts, when the endpoint names them oddly", async () => {
      for (const [model, usage] of [
        [`story\u0000-7b${"x".repeat(300)}`, { prompt_tokens: "100", completion_tokens: -3 }],
        [{ name: "story-7b" }, { prompt_tokens: 1e300, completion_tokens: 2.5 }],
        ["  ", "lots"],
      ] as const) {
        behaviour = () => ({ chunks: ["The lamps gutter."], model, usage });
        const turn = await actAndRecord("lights the lamps");
        expect(turn.narration).toMatchObject({
          narrator: "openai-compatible",
          text: "The lamps gutter.",
          model: "story-7b",
          tokens: null,
        });
      }
      behaviour = () => ({ chunks: ["The lamps gutter."], model: "story-7b-q4" });
      expect((await actAndRecord("lights the lamps")).narration).toMatchObject({
        model: "story-7b-q4",
        tokens: { prompt: 100, completion: 3 },
      });
    });

    it("passes over a piece that is no text (a number, an object, an array), and tells the turns after it", async () => {
      behaviour = () => ({ contents: [12345, "The tide ", { text: "x" }, ["a", "b"], true, "turns."] });
      const turn = await actAndRecord("counts the waves");
      expect(turn.narration).toMatchObject({ text: "The tide turns.", fallback: null });
      const told = heard.filter((m) => m.position === turn.position);
      expect(told.every((m) => m.chunk === undefined || typeof m.chunk === "string")).toBe(true);
      // the narrator's slots are free again: the next turns are told by the model
      behaviour = () => ({ chunks: ["The gulls ", "settle."] });
      for (const deed of ["rests on the dune", "walks the strand"])
        expect((await actAndRecord(deed)).narration).toMatchObject({
          text: "The gulls settle.",
          fallback: null,
        });
    });

    it("stops reading an endpoint that never ends its line, and the template tells the turn", async () => {
      behaviour = () => ({ unterminatedBytes: 3 * 1024 * 1024 });
      const turn = await actAndRecord("listens to the endless hum");
      // refused as an error once past a bound, not held whole until the request's time is out
      expect(turn.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
    });

    it("keeps a telling within its bound when the endpoint streams far past what was asked for", async () => {
      const piece = "and the rain goes on ".repeat(50);
      behaviour = () => ({ chunks: Array.from({ length: 400 }, () => piece) });
      const turn = await actAndRecord("waits out the storm");
      const bound = tellingCharBound(loadConfig({}).narrator.maxTokens);
      expect(turn.narration!.text.length).toBeLessThanOrEqual(bound);
      expect(turn.narration!.text.startsWith(piece.trim())).toBe(true);
      const told = heard.filter((m) => m.position === turn.position);
      const streamed = told.map((m) => m.chunk).join("");
      expect(streamed.length).toBeLessThanOrEqual(bound + piece.length);
      expect(told.at(-1)!.text ?? streamed).toBe(turn.narration!.text);
    });

    it("streams and records a model's prose without control characters or bidirectional controls, and exports none", async () => {
      behaviour = () => ({
        chunks: [
          "\u001b[2J\u001b[31mThe tide\u0007 turns\r",
          "\n under\ta \u202Emoon\u202C.\b\rThe end",
          "\u0085\u009b\u2066.\r\nFin.",
        ],
      });
      const turn = await actAndRecord("reads the tide tables");
      const text = turn.narration!.text;
      // each becomes U+FFFD, and a line end of any system a line feed
      expect(text).toBe(
        "\ufffd[2J\ufffd[31mThe tide\ufffd turns\n under\ta \ufffdmoon\ufffd.\ufffd\nThe end\ufffd\ufffd\ufffd.\nFin.",
      );
      const told = heard.filter((m) => m.position === turn.position);
      for (const message of told) expect(message.chunk ?? "").not.toMatch(UNPLAIN);
      // the pieces spell the record as they are, a "\r\n" split between two of them included
      expect(told.at(-1)!.text).toBeUndefined();
      expect(told.map((m) => m.chunk).join("")).toBe(text);
      const lines = await exportedLines();
      const line = lines.find(
        (l) => l.includes('"type":"turn"') && l.includes(`"position":${turn.position},`),
      );
      expect((JSON.parse(line!) as Turn).narration!.text).toBe(text);
      expect(lines.join("\n")).not.toMatch(UNPLAIN);
      const markdown = await exported("markdown");
      expect(markdown).toContain("The end");
      expect(markdown.replaceAll("\n", "")).not.toMatch(UNPLAIN);
    });

    it("keeps the API key out of the log when the endpoint quotes it back in an error, and quotes only the start of a long one", async () => {
      const bodies = [
        JSON.stringify({ error: { message: `bad key Bearer ${API_KEY}`, type: "invalid_request_error" } }),
        `Authorization: Bearer ${API_KEY}; ${"and so on ".repeat(10_000)}`,
      ];
      for (const errorBody of bodies) {
        await toldByTheModel();
        behaviour = () => ({ status: 401, errorBody });
        let turn: Turn | null = null;
        const lines = await warnings(async () => {
          turn = await actAndRecord("tries a key in the lock");
        });
        expect(turn!.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
        const warned = lines.filter((l) => l.includes("failed on turn"));
        expect(warned).toHaveLength(1);
        expect(lines.join("\n")).not.toContain(API_KEY);
        expect(warned[0]).toContain("401 ");
        expect(warned[0]).toContain("Bearer [the API key]");
        expect(warned[0]!.length).toBeLessThan(5_000);
      }
    });

    it("does not follow a redirect to another origin, and the template tells the turn; one within the origin is followed", async () => {
      const elsewhere = await startChatServer(() => ({ chunks: ["Prose from elsewhere."] }));
      try {
        await toldByTheModel();
        behaviour = () => ({ redirect: `${elsewhere.url}/chat/completions` });
        let turn: Turn | null = null;
        const lines = await warnings(async () => {
          turn = await actAndRecord("follows the signpost");
        });
        expect(turn!.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
        expect(elsewhere.requests).toHaveLength(0);
        expect(lines.join("\n")).toContain(`redirected to ${new URL(elsewhere.url).origin}, another origin`);
        // the endpoint answered: it is asked again at once, and a redirect within its origin is followed
        behaviour = (_, request) =>
          request.path.startsWith("/v1/")
            ? { redirect: "/v2/chat/completions" }
            : { chunks: ["The road bends."] };
        expect((await actAndRecord("follows the road")).narration).toMatchObject({
          narrator: "openai-compatible",
          text: "The road bends.",
          endpoint: new URL(endpoint.url).host,
          fallback: null,
        });
      } finally {
        await elsewhere.close();
      }
    });

    // last of this suite: the endpoint is left alone afterwards, as it asked
    it("does not ask again an endpoint that asks to be left alone longer than a request may take, nor at the next turn", async () => {
      behaviour = () => ({ status: 429, retryAfter: "3600" });
      const asked = endpoint.requests.length;
      const turn = await actAndRecord("waits at the locked gate");
      expect(turn.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
      // asked once, not once and then twice more against its word
      expect(endpoint.requests.length - asked).toBe(1);
      behaviour = () => ({ chunks: ["The gate opens."] });
      const next = await actAndRecord("knocks again");
      expect(next.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
      expect(endpoint.requests.length - asked).toBe(1);
    });
  });
}

/** The position a request to the model narrates. */
function narratedPosition(request: ChatRequestSeen): number | null {
  const user = request.body.messages.find((m) => m.role === "user")?.content ?? "";
  const match = /## The turn to narrate\n- Turn (\d+),/.exec(user);
  return match ? Number(match[1]) : null;
}

/**
 * An endpoint that is down must not hold a table's prose up for a multiple of the time a telling
 * may take, and a telling the table has heard part of is told once, whatever stops its process.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`tellings against an endpoint that is down or slow (${mode.name})`, () => {
    let endpoint: ChatServer;
    let behaviour: (n: number, request: ChatRequestSeen) => ChatBehaviour = () => ({});
    let server: (LoomServer & { url: string }) | null = null;
    const dataDir = tempDir("loom-narration-endpoint-");
    const sessions: UniverseSession[] = [];

    beforeAll(async () => {
      endpoint = await startChatServer((n, request) => behaviour(n, request));
    });
    afterAll(async () => {
      for (const session of sessions) await session.leave().catch(() => undefined);
      await server?.shutdown();
      await endpoint?.close();
    });

    /** A server on this describe's data (a restart when one runs). */
    async function start(narrator: NarratorConfig): Promise<LoomServer & { url: string }> {
      await server?.shutdown();
      server = null;
      server = await startServer(mode, {
        port: 2645,
        dataDir,
        inMemory: false,
        narrator,
        shutdownDrainMs: 1_000,
      });
      return server;
    }

    it("tells a burst of turns within one telling's time when the endpoint never answers, asking it a few times only", async () => {
      const timeoutMs = 2_000;
      behaviour = () => ({ delayMs: 60_000 });
      const { url } = await start(openaiNarrator(endpoint.url, { timeoutMs, retries: 2 }));
      const table = await setTable(url, ["Alex"]);
      const asked = endpoint.requests.length;
      const session = (await joinAll(table))[0]!;
      sessions.push(session);
      const ended = new Map<number, { at: number; message: NarrationMessage }>();
      session.on("narration", (message) => {
        if (message.done) ended.set(message.position, { at: performance.now(), message });
      });
      const acted: Array<{ position: number; at: number }> = [];
      for (let i = 0; i < 6; i++) {
        const at = performance.now();
        const result = await session.act(overcome(table.players[0]!.characterId, `crosses stone ${i}`));
        if (!result.ok) throw new Error(result.rejection.message);
        acted.push({ position: result.turn.position, at });
      }
      for (const { position, at } of acted) {
        await waitFor(() => ended.has(position), 20_000, `the end of turn ${position}'s telling`);
        const end = ended.get(position)!;
        expect(end.message).toMatchObject({ narrator: "template", fallback: "openai-compatible: timeout" });
        // within one telling's time and a busy machine's margin: a telling that waited for the one
        // before it in line, or tried again, would take two tellings' time or more
        expect(end.at - at, `turn ${position}`).toBeLessThan(2 * timeoutMs);
      }
      // her arrival's telling and the first turn's, side by side; not three tries each of seven
      expect(endpoint.requests.length - asked).toBeLessThanOrEqual(2);
      // once the endpoint has rested as long as a telling may take, one telling asks it again
      behaviour = () => ({ chunks: ["The stones ", "hold."] });
      await new Promise((resolve) => setTimeout(resolve, timeoutMs + 1_000));
      const again = await session.act(overcome(table.players[0]!.characterId, "crosses the last stone"));
      if (!again.ok) throw new Error(again.rejection.message);
      await waitFor(() => ended.has(again.turn.position), 10_000, "the model's telling");
      const end = ended.get(again.turn.position)!.message;
      expect(end, JSON.stringify(end)).toMatchObject({
        narrator: "openai-compatible",
        fallback: null,
      });
    });

    it("records what the table heard of a telling cut short by a shutdown, and the next server does not tell it again", async () => {
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      // the squall's telling streams its first pieces, and the rest only after the test is over
      behaviour = (_, request) =>
        JSON.stringify(request.body.messages).includes("sails into the squall")
          ? {
              chunks: ["The squall ", "takes the mast; ", "the hull holds."],
              beforeChunk: (index) => (index >= 2 ? gate : undefined),
            }
          : { chunks: ["The tide turns."] };
      const narrator = openaiNarrator(endpoint.url, { timeoutMs: 20_000 });
      try {
        const { url } = await start(narrator);
        const table = await setTable(url, ["Bea"]);
        const session = (await joinAll(table))[0]!;
        const messages: NarrationMessage[] = [];
        session.on("narration", (message) => messages.push(message));
        const result = await session.act(overcome(table.players[0]!.characterId, "sails into the squall"));
        if (!result.ok) throw new Error(result.rejection.message);
        const { position } = result.turn;
        const heardOf = () =>
          messages
            .filter((m) => m.position === position)
            .map((m) => m.chunk)
            .join("");
        await waitFor(() => heardOf() === "The squall takes the mast; ", 10_000, "the first pieces");
        const heard = heardOf();
        await server!.shutdown();
        server = null;
        await session.leave().catch(() => undefined);

        // the next server, on the same data, opens the universe
        behaviour = () => ({ chunks: ["A different telling."] });
        await start(narrator);
        const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
        sessions.push(gm);
        let turn: Turn | null = null;
        await waitFor(
          async () => {
            turn = await table.gm.turn(table.universeId, position).catch(() => null);
            return turn?.narration != null;
          },
          10_000,
          `the narration of turn ${position}`,
        );
        const narration = (turn as Turn | null)!.narration!;
        expect(narration.text.startsWith(heard)).toBe(true);
        // the model's prose, and the record says it was cut short
        expect(narration).toMatchObject({
          narrator: "openai-compatible",
          model: "story-7b",
          fallback: "openai-compatible: aborted",
        });
        // a moment for a telling the new server might have begun
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(endpoint.requests.filter((r) => narratedPosition(r) === position)).toHaveLength(1);
        expect(gm.turns.find((t) => t.position === position)?.narration?.text).toBe(narration.text);
      } finally {
        release();
      }
    });
  });
}
