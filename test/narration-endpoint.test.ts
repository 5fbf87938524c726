import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NarrationMessage, Turn } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { loadConfig } from "../server/src/config.ts";
import { readExport } from "../server/src/export/index.ts";
import { tellingCharBound } from "../server/src/narrator/openai-narrator.ts";
import {
  startChatServer,
  type ChatBehaviour,
  type ChatServer,
} from "../server/src/narrator/testing/chat-server.ts";
import { openaiNarrator } from "./support/narrator.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { joinAll, overcome, setTable, type Table } from "./support/players.ts";

/**
 * What a model's endpoint answers is input from outside like any client's: a misconfigured or
 * broken endpoint may stream text Postgres cannot store, or far more than was asked for. Neither
 * may stop a universe from recording, exporting or being imported again.
 */
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`an endpoint's answer taken as input (${mode.name})`, () => {
    let endpoint: ChatServer;
    let behaviour: () => ChatBehaviour = () => ({});
    let server: LoomServer & { url: string };
    let table: Table;
    let session: UniverseSession;
    const heard: NarrationMessage[] = [];

    beforeAll(async () => {
      endpoint = await startChatServer(() => behaviour());
      server = await startServer(mode, {
        port: 2645,
        narrator: openaiNarrator(endpoint.url, { timeoutMs: 5_000 }),
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

    async function exportedLines(): Promise<string[]> {
      const response = await fetch(`${server.url}/api/universes/${table.universeId}/export?format=jsonl`, {
        headers: { authorization: `Bearer ${table.gm.playerToken}` },
      });
      expect(response.status).toBe(200);
      return (await response.text()).split("\n").filter((line) => line !== "");
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

    it("does not ask again an endpoint that asks to be left alone longer than a request may take", async () => {
      behaviour = () => ({ status: 429, retryAfter: "3600" });
      const asked = endpoint.requests.length;
      const turn = await actAndRecord("waits at the locked gate");
      expect(turn.narration).toMatchObject({ narrator: "template", fallback: "openai-compatible: error" });
      // asked once, not once and then twice more against its word
      expect(endpoint.requests.length - asked).toBe(1);
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
  });
}
