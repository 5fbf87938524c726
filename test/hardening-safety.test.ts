import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, emptyState, evolve, LIMITS, type Turn } from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import { statSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { modes, OPERATOR, spawnServer, startServer, tempDir, waitFor } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";
import { frame, pack, RawMember } from "./support/raw-member.ts";
import type { LoomServer } from "../server/src/app.ts";
import { parseExposition, sampleValue } from "./support/prometheus-text.ts";
import { captureLog } from "../server/src/log.ts";

/** msgpack map {seq: <uint64 0xcf>, ...rest}: msgpackr decodes the seq as a BigInt. */
function bigintSeq(rest: Record<string, unknown>): Uint8Array {
  return pack({ seq: 5n, ...rest });
}

async function tableWithMembers(url: string) {
  const table = await setTable(url, ["Ash"]);
  const gmToken = table.gm.playerToken!;
  const player = table.players[0]!;
  await fetch(`${url}/api/universes/${table.universeId}/open`, {
    method: "POST",
    headers: { authorization: `Bearer ${gmToken}` },
  });
  const watcher = connect(url);
  const { token: watcherToken } = await watcher.registerPlayer("Watcher");
  await watcher.acceptInvite(table.inviteCode);
  const spectator = await RawMember.join(url, watcherToken, table.universeId, { role: "spectator" });
  const gm = await RawMember.join(url, gmToken, table.universeId, { role: "gm" });
  const seat = await RawMember.join(url, player.client.playerToken!, table.universeId, {
    role: "player",
    runId: player.runId,
  });
  return { table, spectator, gm, seat, player };
}

async function call(url: string, token: string, method: string, path: string, body?: string) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Every turn of a universe, oldest first, as its GM reads them. */
async function allTurns(url: string, token: string, universeId: string): Promise<Turn[]> {
  const turns: Turn[] = [];
  let cursor: number | undefined;
  for (;;) {
    const query = `order=asc&limit=500${cursor === undefined ? "" : `&cursor=${cursor}`}`;
    const page = await call(url, token, "GET", `/api/universes/${universeId}/timeline?${query}`);
    turns.push(...(page.body.turns as Turn[]));
    if (page.body.nextCursor === null || page.body.nextCursor === undefined) return turns;
    cursor = page.body.nextCursor as number;
  }
}

const fact = (id: string, value: unknown) => ({
  op: "set" as const,
  path: `/canon/facts/${id}`,
  value: { id, type: "note", value, confidence: 1, sourcePosition: 0, supersededAt: null },
});

const custom = (characterId: string, text = "keeps walking") => ({ kind: "custom", characterId, text });

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`every room handler is total (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let members: Awaited<ReturnType<typeof tableWithMembers>>;
    let table: Table;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2640 });
      members = await tableWithMembers(server.url);
      table = members.table;
    });
    afterAll(async () => {
      members?.spectator.close();
      members?.gm.close();
      members?.seat.close();
      await server?.shutdown();
    });

    it("answers a BigInt, NaN or string seq on act, undo and retcon with a coded rejection", async () => {
      const { spectator, gm, player } = members;
      const malformed: Array<[RawMember, string, Uint8Array]> = [
        [spectator, "act", bigintSeq({ command: custom(player.characterId) })],
        [gm, "act", bigintSeq({ command: { kind: "world_event", text: "a storm" } })],
        [gm, "undo", bigintSeq({})],
        [gm, "retcon", bigintSeq({ note: "fix" })],
        [gm, "act", pack({ seq: NaN, command: { kind: "world_event", text: "a storm" } })],
        [gm, "undo", pack({ seq: "7" })],
        [gm, "retcon", pack({ seq: -1n, note: "fix", deltas: [] })],
        [gm, "act", pack([1, 2, 3])],
        [gm, "act", new Uint8Array()],
        [gm, "act", pack(null)],
      ];
      for (const [member, type, payload] of malformed) {
        const from = member.received.length;
        member.send(frame(type, payload));
        const answer = await member.next("rejected", from);
        expect(answer, `${type} ${Buffer.from(payload).toString("hex")}`).toMatchObject({
          seq: null,
          code: "invalid_message",
        });
      }
    });

    it("answers an unknown message type with a coded rejection", async () => {
      const from = members.gm.received.length;
      members.gm.send(frame("no_such_message", bigintSeq({})));
      expect(await members.gm.next("rejected", from)).toMatchObject({ code: "invalid_message" });
    });

    it("refuses join options that are not storable with a coded error", async () => {
      const player = table.players[0]!;
      await expect(
        RawMember.join(server.url, player.client.playerToken!, table.universeId, {
          role: "player",
          runId: "run\u0000",
        }),
      ).rejects.toThrow(/invalid_message/);
    });

    it("answers odd message types and survives frames that do not decode", async () => {
      const { gm } = members;
      for (const type of ["constructor", "__proto__", "toString", "x".repeat(300)]) {
        const from = gm.received.length;
        gm.send(frame(type, pack({ seq: 1 })));
        expect(await gm.next("rejected", from), type).toMatchObject({ seq: null, code: "invalid_message" });
      }
      // no type at all, a type that is a number, a truncated string length
      for (const bytes of [[13], [13, 0x07, 0x80], [13, 0xd9, 0xff]]) {
        const from = gm.received.length;
        gm.send(new Uint8Array(bytes));
        if (bytes[0] === 13 && bytes.length > 1 && bytes[1] === 0x07)
          expect(await gm.next("rejected", from)).toMatchObject({ code: "invalid_message" });
      }
      // a payload msgpack cannot decode: Colyseus closes that socket (4002); the room goes on
      const watcher = connect(server.url);
      const { token } = await watcher.registerPlayer("Truncated");
      await watcher.acceptInvite(table.inviteCode);
      const truncated = await RawMember.join(server.url, token, table.universeId, { role: "spectator" });
      truncated.send(frame("act", new Uint8Array([0x82, 0xa3, 0x73])));
      await expect(truncated.next("rejected", 0, () => true, 2_000)).rejects.toThrow(/closed \(4002\)/);
      const from = gm.received.length;
      gm.send(frame("undo", pack({ seq: 3, position: 0 })));
      expect(await gm.next("rejected", from)).toMatchObject({ seq: 3, code: "invalid_message" });
    });

    it("closes a connection at its first frame of a kind Loom's protocol has no use for (a request, raw bytes, inputs), logging no error", async () => {
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        // a request to a handler, a malformed one, one to the wildcard, raw bytes, a reliable input
        const frames = [
          [21, 1, ...pack("act"), ...pack({ seq: 1 })],
          [21, 1, ...pack("act"), 0xc0, 0xc0],
          [21, 2, ...pack("*"), 0xc0],
          [0x1f],
          [19, 0x01],
        ];
        for (const bytes of frames) {
          const watcher = connect(server.url);
          const { token } = await watcher.registerPlayer("Requester");
          await watcher.acceptInvite(table.inviteCode);
          const raw = await RawMember.join(server.url, token, table.universeId, { role: "spectator" });
          for (let i = 0; i < 20; i++) raw.send(new Uint8Array(bytes));
          await waitFor(() => raw.closed !== null, 5_000, `the close after frame ${bytes[0]}`);
          expect(raw.closed, `frame ${bytes.join(",")}`).toBe(4002);
        }
      } finally {
        restore();
      }
      expect(lines.join("\n")).not.toContain('"level":"error"');
      // the room goes on
      const from = members.gm.received.length;
      members.gm.send(frame("undo", pack({ seq: 4, position: 0 })));
      expect(await members.gm.next("rejected", from)).toMatchObject({ seq: 4, code: "invalid_message" });
    });

    it("closes a connection whose frame passes the size limit with 1009, a warning and no error in the log", async () => {
      const watcher = connect(server.url);
      const { token } = await watcher.registerPlayer("Oversized");
      await watcher.acceptInvite(table.inviteCode);
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        const oversized = await RawMember.join(server.url, token, table.universeId, { role: "spectator" });
        oversized.send(frame("act", new Uint8Array(LIMITS.frameBytesMax)));
        await waitFor(() => oversized.closed !== null, 5_000, "the oversized frame's close");
        expect(oversized.closed).toBe(1009);
        await waitFor(() => lines.some((line) => line.includes("Max payload")), 5_000, "the log line");
      } finally {
        restore();
      }
      const said = lines.filter((line) => line.includes("Max payload"));
      expect(said).toHaveLength(1);
      expect(JSON.parse(said[0]!)).toMatchObject({ level: "warn", source: "colyseus" });
      expect(said[0]).not.toContain("    at ");
      expect(lines.join("\n")).not.toContain('"level":"error"');
    });

    it("measures the raw frame: padding that decodes to nothing still counts", async () => {
      const { seat, player } = members;
      // Undefined members vanish from the decoded value (and from JSON.stringify of it) but not
      // from the frame: 1,200 of them make a frame past the limit around a tiny command.
      const padding = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`p${i}`, undefined]));
      const payload = pack({ seq: 1, command: custom(player.characterId), ...padding });
      expect(payload.length).toBeGreaterThan(LIMITS.messageBytesMax);
      const from = seat.received.length;
      seat.send(frame("act", payload));
      expect(await seat.next("rejected", from)).toMatchObject({ seq: 1, code: "payload_too_large" });
      expect(seat.received.slice(from).some((m) => m.type === "ack")).toBe(false);
    });

    it("keeps serving the universe after every malformed frame", async () => {
      const { seat, player } = members;
      const from = seat.received.length;
      seat.send(frame("act", pack({ seq: 2, command: custom(player.characterId, "still here") })));
      expect(await seat.next("ack", from)).toMatchObject({ seq: 2, duplicate: false });
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const page = (await table.gm.history(table.universeId, { order: "asc" })).turns;
      // nothing the malformed frames carried became a turn
      expect(page.some((turn) => turn.kind === "world_event" || turn.kind === "retcon")).toBe(false);
    });
  });
}

describe("a malformed frame cannot take the process down", () => {
  it("survives a BigInt seq from a spectator with no monitoring library's global handler", async () => {
    // embedded on disk, with a generated secret: the data dir and the secret must be private
    const dataDir = join(tempDir(), "data");
    // PM2's cluster mode: @pm2/io installs no process-wide handlers, so only Loom's own remain
    const child = await spawnServer(
      { exec_mode: "cluster_mode", LOOM_DATA_DIR: dataDir, LOOM_SECRET: "", DATABASE_URL: "", REDIS_URL: "" },
      2641,
    );
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, "secret")).mode & 0o777).toBe(0o600);
      const { spectator, player } = await tableWithMembers(child.url);
      for (const type of ["act", "undo", "retcon"]) {
        const from = spectator.received.length;
        spectator.send(frame(type, bigintSeq({ command: custom(player.characterId), note: "x" })));
        expect(await spectator.next("rejected", from)).toMatchObject({ code: "invalid_message" });
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(child.process.exitCode).toBeNull();
      expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
      spectator.close();
    } finally {
      expect(await child.stop("SIGTERM")).toBe(0);
    }
  }, 60_000);
});

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`one JSON-value rule at the edge (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;
    let gmToken: string;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2642 });
      table = await setTable(server.url, ["Ash"]);
      gmToken = table.gm.playerToken!;
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("refuses an increment whose result is not finite, and the universe still snapshots", async () => {
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      try {
        const set = await gm.act({
          kind: "world_event",
          text: "a ledger",
          deltas: [fact("ledger", { n: 1e308 })],
        });
        expect(set.ok).toBe(true);
        const overflow = await gm.act({
          kind: "world_event",
          text: "the ledger overflows",
          deltas: [{ op: "increment", path: "/canon/facts/ledger/value/n", value: 1e308 }],
        });
        expect(overflow).toMatchObject({ ok: false, rejection: { code: "invalid_value" } });
        const nan = await gm.retcon("not a number", [
          { op: "set", path: "/canon/facts/ledger/value/n", value: Number.NaN },
        ]);
        expect(nan).toMatchObject({ ok: false, rejection: { code: "invalid_message" } });
      } finally {
        await gm.leave();
      }
      const snapshot = await call(
        server.url,
        gmToken,
        "POST",
        `/api/universes/${table.universeId}/snapshots`,
      );
      expect(snapshot.status).toBe(201);
    });

    it("a character stays its player's: no retcon or world event gives it (and its private notes) to another", async () => {
      const ash = table.players[0]!;
      const { player: other } = await connect(server.url).registerPlayer("Taker");
      const path = `/characters/${ash.characterId}`;
      // a character is in the story once it has joined play
      await (await ash.client.joinUniverse(table.universeId, { role: "player", runId: ash.runId })).leave();
      const ownerOf = async () =>
        (await table.gm.stateAt(table.universeId)).state.characters[ash.characterId];
      const character = await ownerOf();
      expect(character?.playerId).toBe(ash.playerId);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      try {
        for (const deltas of [
          [{ op: "set" as const, path: `${path}/playerId`, value: other.id }],
          [{ op: "set" as const, path, value: { ...character, playerId: other.id } }],
        ]) {
          expect(await gm.retcon("hand it over", deltas), JSON.stringify(deltas)).toMatchObject({
            ok: false,
            rejection: {
              code: "invalid_action",
              message: expect.stringContaining("player cannot be changed"),
            },
          });
          expect(
            await gm.act({ kind: "world_event", text: "a new owner", deltas }),
            JSON.stringify(deltas),
          ).toMatchObject({ ok: false, rejection: { code: "invalid_action" } });
        }
        const answer = await call(
          server.url,
          gmToken,
          "POST",
          `/api/universes/${table.universeId}/retcon`,
          JSON.stringify({
            note: "hand it over",
            deltas: [{ op: "set", path: `${path}/playerId`, value: other.id }],
          }),
        );
        expect(answer).toMatchObject({ status: 409, body: { error: { code: "invalid_action" } } });
        // nor in two turns (taken out of the story, then set there again, whoever's): a character is
        // never taken out by a turn, its stress and notes with it
        for (const deltas of [
          [{ op: "unset" as const, path }],
          [{ op: "set" as const, path: "/characters", value: {} }],
        ]) {
          expect(await gm.retcon("gone", deltas), JSON.stringify(deltas)).toMatchObject({
            ok: false,
            rejection: { code: "invalid_action", message: expect.stringContaining("stays in the universe") },
          });
          expect(await gm.act({ kind: "world_event", text: "gone", deltas })).toMatchObject({
            ok: false,
            rejection: { code: "invalid_action" },
          });
        }
      } finally {
        await gm.leave();
      }
      expect(await ownerOf()).toEqual(character);
    });

    it("refuses non-finite numbers, prototype keys and deep nesting in HTTP bodies", async () => {
      const retcon = (value: string) =>
        call(
          server.url,
          gmToken,
          "POST",
          `/api/universes/${table.universeId}/retcon`,
          `{"note":"fix","deltas":[{"op":"set","path":"/canon/facts/bad","value":{"id":"bad","type":"note","confidence":1,"sourcePosition":0,"supersededAt":null,"value":${value}}}]}`,
        );
      const deep = "[".repeat(40) + "]".repeat(40);
      for (const value of [
        "1e999",
        '{"__proto__":{"polluted":true}}',
        '{"constructor":1}',
        '{"prototype":1}',
        deep,
      ]) {
        const answer = await retcon(value);
        expect(answer, value).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
      }
      expect((await retcon('{"fine":[1,2.5,"three",null,true]}')).status).toBe(200);
    });

    it("refuses text Postgres cannot store (NUL, lone surrogates) in room messages and HTTP bodies", async () => {
      const player = table.players[0]!;
      const seat = await player.client.joinUniverse(table.universeId, {
        role: "player",
        runId: player.runId,
      });
      try {
        // (a lone surrogate cannot reach a room: msgpack carries UTF-8, which has none)
        for (const text of ["nul \u0000 inside", "\u0000"]) {
          const refused = await seat.act({ kind: "custom", characterId: player.characterId, text });
          expect(refused, JSON.stringify(text)).toMatchObject({
            ok: false,
            rejection: { code: "invalid_message" },
          });
        }
        expect(
          (await seat.act({ kind: "custom", characterId: player.characterId, text: "plain 🦊" })).ok,
        ).toBe(true);
      } finally {
        await seat.leave();
      }
      for (const body of ['{"name":"nul \\u0000"}', '{"name":"lone \\ud800"}']) {
        const named = await call(server.url, gmToken, "POST", "/api/players", body);
        expect(named, body).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
      }
      // JSON, but not an object: said so, not "not valid JSON"
      for (const body of ["null", '"a name"', "{nope"]) {
        const made = await call(server.url, gmToken, "POST", "/api/universes", body);
        expect(made, body).toMatchObject({
          status: 400,
          body: { error: { code: "invalid_message", message: "body must be a JSON object" } },
        });
      }
      for (const path of [
        "/api/universes/a%00b",
        "/api/runs/a%00b",
        "/api/runs/%E0%A4%A",
        `/api/universes/${table.universeId}%ED%A0%80/timeline`,
      ]) {
        const answer = await call(server.url, gmToken, "GET", path);
        expect(answer, path).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
      }
      const created = await call(
        server.url,
        gmToken,
        "POST",
        "/api/universes/a%00b/characters",
        JSON.stringify({ name: "x", highConcept: "y", trouble: "z", skills: {} }),
      );
      expect(created).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
      const searched = await call(
        server.url,
        gmToken,
        "GET",
        `/api/universes/${table.universeId}/timeline?q=a%00b`,
      );
      expect(searched).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
    });

    it("refuses a NUL in a query parameter that would reach the database with invalid_message, logging no error", async () => {
      const player = table.players[0]!;
      const playerToken = player.client.playerToken!;
      const id = table.universeId;
      const sheet = `/api/characters/${player.characterId}`;
      const exported = `/api/universes/${id}/export`;
      const head = async () =>
        (await call(server.url, gmToken, "GET", `/api/universes/${id}`)).body.headPosition;
      const before = await head();
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        for (const [token, path, message] of [
          [playerToken, `${sheet}?universe=%00`, "query: /universe holds a NUL or an unpaired surrogate"],
          [gmToken, `${sheet}?universe=${id}%00`, "query: /universe holds a NUL or an unpaired surrogate"],
          [gmToken, `${exported}?as=player:%00`, "query: /as holds a NUL or an unpaired surrogate"],
          [
            gmToken,
            `${exported}?format=markdown&as=player:${player.playerId}%00`,
            "query: /as holds a NUL or an unpaired surrogate",
          ],
          [
            gmToken,
            `/api/universes/${id}/timeline?q=a%00b`,
            "query: /q holds a NUL or an unpaired surrogate",
          ],
        ] as const) {
          const answer = await call(server.url, token, "GET", path);
          expect.soft(answer, path).toEqual({
            status: 400,
            body: { error: { code: "invalid_message", message } },
          });
        }
      } finally {
        restore();
      }
      expect(lines.filter((line) => /error|failed/i.test(line))).toEqual([]);
      // nothing changed, and the same reads without the NUL answer
      expect(await head()).toBe(before);
      expect((await call(server.url, playerToken, "GET", `${sheet}?universe=${id}`)).status).toBe(200);
      const view = await fetch(`${server.url}${exported}?as=player:${player.playerId}`, {
        headers: { authorization: `Bearer ${gmToken}` },
      });
      expect(view.status).toBe(200);
      await view.text();
    });

    it("refuses terminal controls in names and texts others read, in HTTP bodies and room messages, changing nothing", async () => {
      const escapes = ["\x1b[2J", "\x1b]0;owned\x07", "\u202Eeulav"];
      const player = table.players[0]!;
      const universes = (await call(server.url, gmToken, "GET", "/api/universes")).body;
      for (const evil of escapes) {
        const bodies: Array<[string, unknown]> = [
          ["/api/players", { name: `Mal${evil}ory` }],
          ["/api/universes", { name: `Salt${evil}` }],
          ["/api/universes", { name: "Salt", premise: `A coast${evil}` }],
          [
            `/api/universes/${table.universeId}/characters`,
            { name: "Ash", highConcept: `Sworn${evil}`, trouble: "Debt", skills: {} },
          ],
          [`/api/universes/${table.universeId}/retcon`, { note: `fix${evil}` }],
        ];
        for (const [path, body] of bodies) {
          const answer = await call(server.url, gmToken, "POST", path, JSON.stringify(body));
          expect(answer, `${path} ${JSON.stringify(body)}`).toMatchObject({
            status: 400,
            body: { error: { code: "invalid_message" } },
          });
        }
      }
      expect((await call(server.url, gmToken, "GET", "/api/universes")).body).toEqual(universes);
      const seat = await player.client.joinUniverse(table.universeId, {
        role: "player",
        runId: player.runId,
      });
      try {
        for (const evil of escapes) {
          const custom = await seat.act({
            kind: "custom",
            characterId: player.characterId,
            text: `I wave.${evil}`,
          });
          expect(custom, JSON.stringify(evil)).toMatchObject({
            ok: false,
            rejection: { code: "invalid_message" },
          });
          const named = await seat.act({
            kind: "action",
            action: "create_advantage",
            characterId: player.characterId,
            skill: "Notice",
            aspectName: `Fog${evil}`,
          });
          expect(named, JSON.stringify(evil)).toMatchObject({
            ok: false,
            rejection: { code: "invalid_message" },
          });
        }
        const lines = await seat.act({
          kind: "custom",
          characterId: player.characterId,
          text: "I wave.\n\tThen I run.",
        });
        expect(lines.ok).toBe(true);
      } finally {
        await seat.leave();
      }
    });

    it("refuses names of nothing visible (zero-width and format characters, spaces), in HTTP bodies and room messages, changing nothing", async () => {
      const blanks = ["\u200B\u200B", " \u200D\u2060 ", "\uFEFF\u200C", "\u00AD"];
      const player = table.players[0]!;
      const universes = (await call(server.url, gmToken, "GET", "/api/universes")).body;
      const sheet = { highConcept: "Sworn", trouble: "Debt", skills: {} };
      for (const blank of blanks) {
        const bodies: Array<[string, unknown]> = [
          ["/api/players", { name: blank }],
          ["/api/universes", { name: blank }],
          [`/api/universes/${table.universeId}/characters`, { ...sheet, name: blank }],
          [`/api/universes/${table.universeId}/characters`, { ...sheet, name: "Ash", trouble: blank }],
          [`/api/universes/${table.universeId}/save-points`, { name: blank, position: 1 }],
        ];
        for (const [path, body] of bodies) {
          const answer = await call(server.url, gmToken, "POST", path, JSON.stringify(body));
          expect(answer, `${path} ${JSON.stringify(body)}`).toMatchObject({
            status: 400,
            body: {
              error: { code: "invalid_message", message: expect.stringContaining("visible character") },
            },
          });
        }
      }
      expect((await call(server.url, gmToken, "GET", "/api/universes")).body).toEqual(universes);
      const seat = await player.client.joinUniverse(table.universeId, {
        role: "player",
        runId: player.runId,
      });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      try {
        const before = (await call(server.url, gmToken, "GET", `/api/universes/${table.universeId}`)).body;
        for (const blank of blanks) {
          const refusals = [
            await seat.act({
              kind: "action",
              action: "create_advantage",
              characterId: player.characterId,
              skill: "Notice",
              aspectName: blank,
            }),
            await gm.act({ kind: "npc", op: "add", name: blank }),
            await gm.act({ kind: "scene", title: blank }),
          ];
          for (const refused of refusals)
            expect(refused, JSON.stringify(blank)).toMatchObject({
              ok: false,
              rejection: { code: "invalid_message", message: expect.stringContaining("visible character") },
            });
        }
        expect((await call(server.url, gmToken, "GET", `/api/universes/${table.universeId}`)).body).toEqual(
          before,
        );
        // a visible name may still carry a zero-width joiner, as emoji sequences do
        expect((await gm.act({ kind: "npc", op: "add", name: "Old 👩\u200D🌾" })).ok).toBe(true);
      } finally {
        await seat.leave();
        await gm.leave();
      }
    });

    it("names an advantage from any words without refusing the roll, which would tell the dice", async () => {
      const player = table.players[0]!;
      const seat = await player.client.joinUniverse(table.universeId, {
        role: "player",
        runId: player.runId,
      });
      try {
        // an emoji the 200-character cut falls inside, and words with nothing to name a thing by
        const words = ["x".repeat(199) + "🗡️ and more", "\n \t\n"];
        for (let i = 0; i < 6; i++) {
          for (const description of words) {
            const answer = await seat.act({
              kind: "action",
              action: "create_advantage",
              characterId: player.characterId,
              skill: "Notice",
              description,
            });
            if (!answer.ok) throw new Error(`refused: ${answer.rejection.code} ${answer.rejection.message}`);
            const made = answer.turn.deltas.find((delta: { path: string }) =>
              /^\/scene\/aspects\/[^/]+$/.test(delta.path),
            );
            if (made) {
              const { name } = made.value as { name: string };
              expect(name).toMatch(description.startsWith("x") ? /^x{199}$/ : /'s Notice Edge$/);
            }
          }
        }
      } finally {
        await seat.leave();
      }
    });

    it("records a roll in the open without a concealed mark its sender set: the server alone sets it", async () => {
      const player = table.players[0]!;
      const seat = await player.client.joinUniverse(table.universeId, {
        role: "player",
        runId: player.runId,
      });
      try {
        const answer = await seat.act({
          kind: "action",
          action: "overcome",
          characterId: player.characterId,
          skill: "Notice",
          description: "a look in the open",
          concealed: true,
        });
        if (!answer.ok) throw new Error(`refused: ${answer.rejection.code} ${answer.rejection.message}`);
        expect(answer.turn.input).not.toHaveProperty("concealed");
        const stored = await call(
          server.url,
          gmToken,
          "GET",
          `/api/universes/${table.universeId}/turns/${answer.turn.position}`,
        );
        const { input } = stored.body.turn as { input: Record<string, unknown> };
        expect(input).toMatchObject({ description: "a look in the open", hidden: false });
        expect(input).not.toHaveProperty("concealed");
      } finally {
        await seat.leave();
      }
    });

    it("keeps the snapshot checksum equal to a replay of the timeline", async () => {
      const taken = await call(server.url, gmToken, "POST", `/api/universes/${table.universeId}/snapshots`);
      expect(taken.status).toBe(201);
      const position = taken.body.position as number;
      const stored = await call(
        server.url,
        gmToken,
        "GET",
        `/api/universes/${table.universeId}/state?position=${position}`,
      );
      const turns = (await allTurns(server.url, gmToken, table.universeId)).filter(
        (t) => t.position <= position,
      );
      let state = emptyState("The Salt Marches", "A drowned coast");
      for (const turn of turns) state = evolve(state, turn.deltas);
      expect(stored.body.checksum).toBe(checksum(state));
    });
  });

  describe(`bounded query integers (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2643 });
      table = await setTable(server.url, ["Ash"]);
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("answers 1e12 positions, cursors and ranges with 400 invalid_message, never a database error", async () => {
      const token = table.gm.playerToken!;
      const id = table.universeId;
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        for (const path of [
          `/api/universes/${id}/turns/1000000000000`,
          `/api/universes/${id}/timeline?cursor=1000000000000`,
          `/api/universes/${id}/state?position=1000000000000`,
          `/api/universes/${id}/diff?from=0&to=1000000000000`,
          `/api/universes/${id}/diff?from=1e12`,
          `/api/universes?limit=1000000000000`,
        ]) {
          const answer = await call(server.url, token, "GET", path);
          expect(answer, path).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
        }
      } finally {
        restore();
      }
      expect(lines.join("\n")).not.toMatch(/params|Failed query/);
    });

    it("reads query integers in decimal digits alone: 0x10, 1e2, a sign, a space or nothing is invalid_message", async () => {
      const token = table.gm.playerToken!;
      const id = table.universeId;
      for (const [path, parameter] of [
        [`/api/universes/${id}/timeline?cursor=0x1`, "cursor"],
        [`/api/universes/${id}/timeline?cursor=`, "cursor"],
        [`/api/universes/${id}/timeline?cursor=1&cursor=2`, "cursor"],
        [`/api/universes/${id}/timeline?limit=1e1`, "limit"],
        [`/api/universes/${id}/timeline?limit=%207`, "limit"],
        [`/api/universes/${id}/timeline?limit=+7`, "limit"],
        [`/api/universes/${id}/turns/0x1`, "position"],
        [`/api/universes/${id}/state?position=1.0`, "position"],
        [`/api/universes/${id}/diff?from=-0`, "from"],
      ] as const) {
        const answer = await call(server.url, token, "GET", path);
        expect(answer, path).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
        expect((answer.body.error as { message: string }).message, path).toContain(
          `${parameter} must be an integer`,
        );
      }
      // written plainly, the same parameters are read
      const gm = await table.gm.joinUniverse(id, { role: "gm" });
      for (const text of ["Fog rolls in", "The tide turns", "Gulls scream"]) {
        const posted = await gm.act({ kind: "world_event", text, major: false });
        if (!posted.ok) throw new Error(posted.rejection.message);
      }
      await gm.leave();
      const page = await call(
        server.url,
        token,
        "GET",
        `/api/universes/${id}/timeline?cursor=0&limit=2&order=asc`,
      );
      expect(page.status).toBe(200);
      expect((page.body.turns as Turn[]).map((turn) => turn.position)).toEqual([1, 2]);
      const first = await call(server.url, token, "GET", `/api/universes/${id}/turns/01`);
      expect(first.body.turn).toMatchObject({ position: 1 });
    });

    it("answers a position past 2³¹−1 in a body or a room message with invalid_message, and changes nothing", async () => {
      const token = table.gm.playerToken!;
      const id = table.universeId;
      const past = 2 ** 31;
      const head = (await call(server.url, token, "GET", `/api/universes/${id}`)).body.headPosition;
      const lines: string[] = [];
      const restore = captureLog((line) => lines.push(line));
      try {
        for (const [path, body] of [
          [`/api/universes/${id}/undo`, { position: past }],
          [`/api/universes/${id}/branch`, { position: past }],
          [`/api/universes/${id}/save-points`, { name: "far", position: past }],
        ] as const) {
          const answer = await call(server.url, token, "POST", path, JSON.stringify(body));
          expect(answer, path).toMatchObject({ status: 400, body: { error: { code: "invalid_message" } } });
        }
        await call(server.url, token, "POST", `/api/universes/${id}/open`);
        const gm = await RawMember.join(server.url, token, id, { role: "gm" });
        try {
          const from = gm.received.length;
          gm.send(frame("undo", pack({ seq: 1, position: past })));
          expect(await gm.next("rejected", from)).toMatchObject({ seq: 1, code: "invalid_message" });
        } finally {
          gm.close();
        }
      } finally {
        restore();
      }
      expect((await call(server.url, token, "GET", `/api/universes/${id}`)).body.headPosition).toBe(head);
      expect(lines.join("\n")).not.toMatch(/params|Failed query|"level":"error"/);
    });
  });
}

for (const mode of modes().filter((m) => m.name === "postgres+redis")) {
  describe.skipIf(!mode.available)(`a universe that cannot persist (${mode.name})`, () => {
    it("is reported on /metrics, /metrics.json, /healthz and in the log, and SIGTERM still completes in bounded time", async () => {
      const child = await spawnServer(
        { DATABASE_URL: mode.databaseUrl!, REDIS_URL: mode.redisUrl!, LOOM_SHUTDOWN_DRAIN_MS: "1500" },
        2644,
      );
      const sql = postgres(mode.databaseUrl!, { max: 1, onnotice: () => undefined });
      const trigger = `loom_test_refuse_${Date.now()}`;
      try {
        const table = await setTable(child.url, ["Ash"]);
        const id = table.universeId;
        // a fault in one universe only: the database refuses its turns
        await sql.unsafe(`create function ${trigger}() returns trigger language plpgsql as $$
          begin
            if new.universe_id = '${id}' then raise exception 'refused by the test'; end if;
            return new;
          end $$`);
        await sql.unsafe(
          `create trigger ${trigger} before insert on turns for each row execute function ${trigger}()`,
        );
        const other = await setTable(child.url, ["Bo"]);
        const player = table.players[0]!;
        const seat = await player.client.joinUniverse(id, { role: "player", runId: player.runId });
        const act = await seat.act({
          kind: "custom",
          characterId: player.characterId,
          text: "writes in the sand",
        });
        expect(act.ok).toBe(true);
        // the other universe persists as usual, in the same group commits
        const bo = other.players[0]!;
        const boSeat = await bo.client.joinUniverse(other.universeId, { role: "player", runId: bo.runId });
        const boAct = await boSeat.act({ kind: "custom", characterId: bo.characterId, text: "walks on" });
        expect(boAct.ok).toBe(true);
        await waitFor(
          async () => (await other.gm.history(other.universeId)).turns.length >= 3,
          10_000,
          "Bo's turns",
        );

        await waitFor(
          async () => {
            // which universes fail is for the operator's token
            const answer = await fetch(`${child.url}/metrics.json`, { headers: OPERATOR });
            const metrics = (await answer.json()) as {
              persist: { failing: Array<{ universeId: string }>; failedWrites: number };
            };
            return (
              metrics.persist.failing.some((f) => f.universeId === id) && metrics.persist.failedWrites > 0
            );
          },
          10_000,
          "the failing universe on /metrics.json",
        );
        const exposition = parseExposition(await (await fetch(`${child.url}/metrics`)).text());
        expect(sampleValue(exposition, "loom_universes_persist_failing")).toBeGreaterThanOrEqual(1);
        expect(sampleValue(exposition, "loom_persist_write_failures_total")).toBeGreaterThan(0);
        const refusals = { dependency: "database", class: "P0001" };
        expect(sampleValue(exposition, "loom_dependency_errors_total", refusals)).toBeGreaterThan(0);
        const healthz = await fetch(`${child.url}/healthz`, { headers: OPERATOR });
        const health = (await healthz.json()) as Record<string, unknown>;
        expect(health).toMatchObject({ ok: true, status: "degraded" });
        const failing = (health.degraded as { persistFailing: Array<{ universeId: string; error: string }> })
          .persistFailing;
        expect(failing.map((f) => f.universeId)).toEqual([id]);
        expect(failing[0]!.error).toContain("refused by the test");
        // logged once, with the database's code and the universe, though Bo's universe writes meanwhile
        const failingLines = child.logs().filter((entry) => entry.msg.startsWith("database failing"));
        expect(failingLines).toHaveLength(1);
        expect(failingLines[0]).toMatchObject({ level: "error", code: "P0001", universeId: id });
        expect(failingLines[0]!.msg).toContain("[P0001]");
        expect(failingLines[0]!.msg).toContain("refused by the test");
        expect(failingLines[0]!.msg).toContain(`universe ${id}`);

        const started = Date.now();
        expect(await child.stop("SIGTERM")).toBe(0);
        expect(Date.now() - started).toBeLessThan(15_000);
        // its turns wait in the live store for the next owner: the log says the universe did not close clean
        const unclean = child
          .logs()
          .filter((entry) =>
            new RegExp(`universe ${id}(: the process stops| closes) with \\d+ turns`).test(entry.msg),
          );
        expect(unclean.map((entry) => [entry.level, entry.universeId])).toEqual([[expect.any(String), id]]);
      } finally {
        await child.stop("SIGKILL");
        await sql.unsafe(`drop trigger if exists ${trigger} on turns`);
        await sql.unsafe(`drop function if exists ${trigger}()`);
        await sql.end();
      }
    }, 60_000);
  });
}
