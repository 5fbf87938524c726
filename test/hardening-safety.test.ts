import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "@loom/shared";
import { connect } from "../client-sdk/src/index.ts";
import { modes, spawnServer, startServer, tempDir } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";
import { frame, pack, RawMember } from "./support/raw-member.ts";
import type { LoomServer } from "../server/src/app.ts";

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
  const spectator = await RawMember.join(url, watcherToken, table.universeId, { role: "spectator" });
  const gm = await RawMember.join(url, gmToken, table.universeId, { role: "gm" });
  const seat = await RawMember.join(url, player.client.playerToken!, table.universeId, {
    role: "player",
    runId: player.runId,
  });
  return { table, spectator, gm, seat, player };
}

const custom = (characterId: string, text = "keeps walking") => ({ kind: "custom", characterId, text });

for (const mode of modes()) {
  describe(`every room handler is total (${mode.name})`, () => {
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
    // PM2's cluster mode: @pm2/io installs no process-wide handlers, so only Loom's own remain
    const child = await spawnServer(
      { exec_mode: "cluster_mode", LOOM_DATA_DIR: tempDir(), LOOM_IN_MEMORY: "1", LOOM_LOG: "warn" },
      2641,
    );
    try {
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
  });
});
