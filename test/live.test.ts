import type { IncomingMessage, Server as HttpServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import {
  checksum,
  ClientMessage,
  CloseCode,
  encodeMemberTurnMessage,
  readNpc,
  RECENT_TURNS,
  type Turn,
  type UniverseState,
} from "@loom/shared";
import { connect, LoomError, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, tempDir, waitFor } from "./support/server.ts";
import { joinAll, overcome, setTable, type Table } from "./support/players.ts";
import { breakConnection, watchSeats, type SeatWatch } from "./support/seat-watch.ts";
import type { LoomServer } from "../server/src/app.ts";
import { socketOf } from "../server/src/rooms/output-batch.ts";
import { loadConfig } from "../server/src/config.ts";

/**
 * The message types of the Colyseus room messages in one chunk a socket wrote: WebSocket frames
 * (header and payload, or a payload alone) whose payload is [13 or 17][type as a short string]…,
 * and "patch" for a state patch ([15]…).
 */
function messageTypes(chunk: Buffer): string[] {
  let payload = chunk;
  if (chunk[0] === 0x82) {
    const length = chunk[1]! & 0x7f;
    payload = chunk.subarray(length === 126 ? 4 : length === 127 ? 10 : 2);
  }
  if (payload[0] === 15) return ["patch"];
  if (payload.length < 2 || (payload[0] !== 13 && payload[0] !== 17) || (payload[1]! & 0xe0) !== 0xa0)
    return [];
  return [payload.subarray(2, 2 + (payload[1]! & 0x1f)).toString("utf8")];
}

/**
 * Spies on the writes of `session`'s socket in the server: the message types of each write, and
 * (`bytes`) every chunk written, as it left.
 */
function writesTo(session: UniverseSession, bytes: Buffer[] = []): string[][] {
  const room = matchMaker.getLocalRoomById(session.room.roomId);
  const client = room.clients.find((c) => c.sessionId === session.room.sessionId)!;
  const socket = socketOf(client) as unknown as {
    _writev: (chunks: Array<{ chunk: Buffer }>, cb: unknown) => void;
  };
  // the batch reaches the real transport's socket (this fails if a Colyseus or ws upgrade moves it)
  expect(socket).toBeDefined();
  const writes: string[][] = [];
  const writev = socket._writev.bind(socket);
  socket._writev = (chunks, cb) => {
    writes.push(chunks.flatMap(({ chunk }) => messageTypes(chunk)));
    bytes.push(...chunks.map(({ chunk }) => Buffer.from(chunk)));
    writev(chunks, cb);
  };
  return writes;
}

/** How many messages of `type` the writes carried. */
function count(writes: string[][], type: string): number {
  return writes.flat().filter((t) => t === type).length;
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`live universe (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    const dataDir = tempDir();

    beforeAll(async () => {
      server = await startServer(mode, { dataDir, inMemory: false });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("orders concurrent actions from three players into one gapless timeline every member sees in order", async () => {
      const table = await setTable(server.url, ["Alex", "Jordan", "Sam"]);
      const sessions = await joinAll(table);
      const perPlayer = 15;
      const results = await Promise.all(
        sessions.map((session, i) =>
          Promise.all(
            Array.from({ length: perPlayer }, () => session.act(overcome(table.players[i]!.characterId))),
          ),
        ),
      );
      const acked = results.flat();
      expect(acked.every((result) => result.ok)).toBe(true);
      const head = Math.max(...acked.map((r) => (r.ok ? r.turn.position : 0)));

      await waitFor(
        () => sessions.every((s) => s.turns.length > 0 && s.turns[s.turns.length - 1]!.position === head),
        10_000,
        "broadcasts",
      );
      for (const session of sessions) {
        const positions = session.turns.map((turn) => turn.position);
        // each member saw every turn from its join on, strictly in order, no gap
        expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => positions[0]! + i));
      }
      // everything the members saw after the last join is the full set of acknowledged turns
      const ackedPositions = acked.map((r) => (r.ok ? r.turn.position : -1)).sort((a, b) => a - b);
      expect(new Set(ackedPositions).size).toBe(3 * perPlayer);

      await waitFor(
        async () =>
          (await table.gm.history(table.universeId, { limit: 500, order: "asc" })).turns.length === head,
        10_000,
        "persistence",
      );
      const page = await table.gm.history(table.universeId, { limit: 500, order: "asc" });
      expect(page.turns.map((t) => t.position)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      for (const session of sessions) await session.leave();
    });

    it("refuses spectators' actions and acting for another player's character, and hides GM fields from spectators", async () => {
      const table = await setTable(server.url, ["Mara", "Tobin"], {
        Mara: { notes: "Owes Brannoc a debt" },
      });
      const [mara, tobin] = table.players;
      const maraSession = await mara!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: mara!.runId,
      });
      const tobinSession = await tobin!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: tobin!.runId,
      });
      const watcher = connect(server.url);
      await watcher.registerPlayer("Watcher");
      await watcher.acceptInvite(table.inviteCode);
      const spectator = await watcher.joinUniverse(table.universeId, { role: "spectator" });
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });

      const bySpectator = await spectator.act(overcome(mara!.characterId));
      expect(bySpectator).toMatchObject({ ok: false, rejection: { code: "not_allowed" } });
      const impostor = await tobinSession.act(overcome(mara!.characterId));
      expect(impostor).toMatchObject({ ok: false, rejection: { code: "not_your_character" } });

      // a GM note on Mara reaches the GM's decoded state but not the spectator's or Tobin's
      const note = await gm.act({
        kind: "world_event",
        text: "The GM marks Mara as the heir.",
        major: false,
        deltas: [
          { op: "set", path: `/characters/${mara!.characterId}/gmNotes`, value: "secret heir", prev: "" },
        ],
      });
      expect(note.ok).toBe(true);
      await waitFor(
        () => gm.state.characters?.get(mara!.characterId)?.gmNotes === "secret heir",
        5_000,
        "GM view",
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(spectator.state.characters.get(mara!.characterId)?.gmNotes ?? "").toBe("");
      expect(tobinSession.state.characters.get(mara!.characterId)?.gmNotes ?? "").toBe("");
      // owner-only notes reach the owner and GMs, not the other player or spectators
      await waitFor(
        () => maraSession.state.characters.get(mara!.characterId)?.privateNotes === "Owes Brannoc a debt",
        5_000,
        "owner view",
      );
      expect(gm.state.characters.get(mara!.characterId)?.privateNotes).toBe("Owes Brannoc a debt");
      expect(tobinSession.state.characters.get(mara!.characterId)?.privateNotes ?? "").toBe("");
      expect(spectator.state.characters.get(mara!.characterId)?.privateNotes ?? "").toBe("");
      const head = gm.state.head;
      expect(spectator.state.head).toBe(head);
      for (const session of [maraSession, tobinSession, spectator, gm]) await session.leave();
    });

    it("syncs every sheet when a game master's retcon sets the whole cast, and again when it is undone", async () => {
      const table = await setTable(server.url, ["Mara", "Tobin"]);
      const [mara, tobin] = table.players;
      const [maraSession, tobinSession] = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const fatePoints = (session: UniverseSession) =>
        [mara!, tobin!].map(({ characterId }) => session.state.characters.get(characterId)?.fatePoints);
      const before = fatePoints(gm);
      expect(before.every((points) => typeof points === "number")).toBe(true);
      // the cast as the GM reads it, every sheet with 7 fate points, set at /characters in one delta
      const { state } = await table.gm.stateAt(table.universeId);
      const cast = Object.fromEntries(
        Object.entries(state.characters).map(([id, sheet]) => [id, { ...sheet, fatePoints: 7 }]),
      );
      const retcon = await gm.retcon("everyone was luckier", [
        { op: "set", path: "/characters", value: cast },
      ]);
      if (!retcon.ok) throw new Error(retcon.rejection.message);
      for (const session of [gm, maraSession!, tobinSession!])
        await waitFor(
          () => fatePoints(session).every((points) => points === 7),
          5_000,
          "the cast's new sheets",
        );
      const undo = await gm.undo(retcon.turn.position);
      if (!undo.ok) throw new Error(undo.rejection.message);
      for (const session of [gm, maraSession!, tobinSession!])
        await waitFor(
          () => JSON.stringify(fatePoints(session)) === JSON.stringify(before),
          5_000,
          "the sheets again",
        );
      for (const session of [maraSession!, tobinSession!, gm]) await session.leave();
    });

    it("sends a joining member the newest turns, hidden rolls redacted for non-GMs, and marks undone turns", async () => {
      const table = await setTable(server.url, ["Wren"]);
      const wren = table.players[0]!;
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const player = await wren.client.joinUniverse(table.universeId, { role: "player", runId: wren.runId });
      for (let i = 0; i < RECENT_TURNS + 5; i++)
        expect((await player.act(overcome(wren.characterId))).ok).toBe(true);
      const secret = await gm.act({
        ...overcome(wren.characterId, "a roll the zeppelin crew must not see"),
        hidden: true,
      });
      expect(secret.ok).toBe(true);
      // words, which a player may take back (a roll stands)
      const undone = await player.act({
        kind: "custom",
        characterId: wren.characterId,
        text: "a step taken back",
      });
      const undo = await player.undo();
      expect(undone.ok && undo.ok).toBe(true);
      const head = undo.ok ? undo.turn.position : 0;

      const watcher = connect(server.url);
      await watcher.registerPlayer("Latecomer");
      await watcher.acceptInvite(table.inviteCode);
      const spectator = await watcher.joinUniverse(table.universeId, { role: "spectator" });
      const lateGm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      for (const session of [spectator, lateGm]) {
        await waitFor(() => session.turns.at(-1)?.position === head, 5_000, "recent turns");
        expect(session.turns.map((turn) => turn.position)).toEqual(
          Array.from({ length: RECENT_TURNS }, (_, i) => head - RECENT_TURNS + 1 + i),
        );
        const taken = session.turns.find((turn) => undone.ok && turn.id === undone.turn.id);
        expect(taken?.status).toBe("undone");
      }
      const hidden = (session: typeof spectator) =>
        session.turns.find((turn) => secret.ok && turn.id === secret.turn.id);
      expect(hidden(lateGm)?.resolution).not.toBeNull();
      expect(hidden(spectator)?.resolution).toBeNull();
      expect(JSON.stringify(hidden(spectator))).not.toContain("must not see");
      await waitFor(
        async () => (await table.gm.history(table.universeId, { q: "zeppelin" })).turns.length === 1,
        5_000,
        "persisted",
      );
      expect((await watcher.history(table.universeId, { q: "zeppelin" })).turns).toEqual([]);
      const unsearched = await watcher.history(table.universeId, { limit: 500 });
      expect(unsearched.turns.find((turn) => secret.ok && turn.id === secret.turn.id)?.input).toEqual({
        kind: "action",
        hidden: true,
      });

      // a turn after joining arrives as a broadcast and extends the same timeline; its deltas
      // reach GMs only (the others see their effect in the synced state)
      const next = await gm.act({
        kind: "world_event",
        text: "A storm breaks.",
        major: false,
        deltas: [{ op: "set", path: "/world/flags/storm", value: true }],
      });
      expect(next.ok).toBe(true);
      await waitFor(() => spectator.turns.at(-1)?.position === head + 1, 5_000, "broadcast");
      await waitFor(() => lateGm.turns.at(-1)?.position === head + 1, 5_000, "GM broadcast");
      expect(spectator.turns.at(-1)?.deltas).toEqual([]);
      expect(lateGm.turns.at(-1)?.deltas).toEqual([{ op: "set", path: "/world/flags/storm", value: true }]);
      expect(spectator.turns.at(-1)?.input).toMatchObject({ text: "A storm breaks." });
      const another = await player.act({
        kind: "custom",
        characterId: wren.characterId,
        text: "a second step back",
      });
      expect(another.ok && (await player.undo()).ok).toBe(true);
      await waitFor(
        () => spectator.turns.find((turn) => another.ok && turn.id === another.turn.id)?.status === "undone",
        5_000,
        "undo broadcast",
      );
      // a session keeps only the newest `keepTurns`; a bad value is refused before joining
      const brief = await watcher.joinUniverse(table.universeId, { role: "spectator", keepTurns: 5 });
      await waitFor(() => brief.turns.at(-1)?.position === spectator.turns.at(-1)?.position, 5_000, "brief");
      expect(brief.turns.map((turn) => turn.position)).toEqual(
        spectator.turns.slice(-5).map((t) => t.position),
      );
      await expect(
        watcher.joinUniverse(table.universeId, { role: "spectator", keepTurns: -1 }),
      ).rejects.toThrow(RangeError);
      for (const session of [gm, player, spectator, lateGm, brief]) await session.leave();
    });

    it("sends durable messages to members waiting on a mark; the others follow the marks in the synced state", async () => {
      const table = await setTable(server.url, ["Odo", "Pell"]);
      const [odo, pell] = table.players;
      const acting = await odo!.client.joinUniverse(table.universeId, { role: "player", runId: odo!.runId });
      const idle = await pell!.client.joinUniverse(table.universeId, { role: "player", runId: pell!.runId });
      const received = { acting: 0, idle: 0 };
      acting.room.onMessage("durable", () => (received.acting += 1));
      idle.room.onMessage("durable", () => (received.idle += 1));
      let last = 0;
      for (let i = 0; i < 3; i++) {
        const result = await acting.act(overcome(odo!.characterId));
        expect(result.ok).toBe(true);
        if (result.ok) last = result.turn.position;
      }
      await waitFor(() => acting.persistedThrough >= last, 5_000, "the actor's marks");
      await waitFor(() => idle.persistedThrough >= last, 5_000, "marks in the synced state");
      expect(received.acting).toBeGreaterThan(0);
      expect(received.idle).toBe(0);
      // the operator's view of the same acts: timed in the server, and written by group commits
      const metrics = (await (await fetch(`${server.url}/metrics.json`)).json()) as {
        acts: { count: number; p99Ms: number };
        commits: { count: number; turns: number; failed: number };
      };
      expect(metrics.acts.count).toBeGreaterThanOrEqual(3);
      expect(metrics.acts.p99Ms).toBeGreaterThan(0);
      expect(metrics.commits.turns).toBeGreaterThanOrEqual(last);
      expect(metrics.commits.failed).toBe(0);
      for (const session of [acting, idle]) await session.leave();
    });

    it("sends an act's ack and its turn, the template's prose inside it, to the actor in one write", async () => {
      const table = await setTable(server.url, ["Quill"]);
      const [quill] = table.players;
      const session = await quill!.client.joinUniverse(table.universeId, {
        role: "player",
        runId: quill!.runId,
      });
      // joining made a turn: its prose is out before the writes are watched
      await waitFor(() => session.state.head > 0, 5_000, "the joining turn");
      await session.narrationText(session.state.head);
      const writes = writesTo(session);
      const acks: unknown[] = [];
      session.room.onMessage("ack", (ack: unknown) => acks.push(ack));
      const result = await session.act(overcome(quill!.characterId));
      expect(result.ok).toBe(true);
      await waitFor(
        () => session.turns.some((t) => result.ok && t.position === result.turn.position),
        5_000,
        "turn",
      );
      if (!result.ok) return;
      expect(session.narrationSoFar(result.turn.position)).toMatchObject({ done: true });
      // the ack names the turn the same write carried; the act resolves with that turn
      expect(acks).toEqual([{ seq: expect.any(Number), duplicate: false, position: result.turn.position }]);
      expect(result.turn).toBe(session.turns.find((t) => t.position === result.turn.position));
      // past the time a narration message could linger: none comes
      await new Promise((resolve) => setTimeout(resolve, 200));
      const at = writes.findIndex((types) => types.includes("ack"));
      expect(writes[at]).toContain("turn");
      expect(count(writes, "narration")).toBe(0);
      await session.leave();
    });

    it("sends a template-narrated turn to every member as one frame, with no narration message", async () => {
      const table = await setTable(server.url, ["Rook", "Sorrel"]);
      const players = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const watcher = connect(server.url);
      await watcher.registerPlayer("Watcher");
      await watcher.acceptInvite(table.inviteCode);
      const spectator = await watcher.joinUniverse(table.universeId, { role: "spectator" });
      const members = [...players, gm, spectator];
      // the joining turns' prose is out before the writes are watched
      await waitFor(() => members.every((m) => m.state.head > 0), 5_000, "the joining turns");
      const head = gm.state.head;
      for (const member of members) await member.narrationText(head);
      const writes = members.map((member) => writesTo(member));
      const turns = 5;
      let last = 0;
      for (let i = 0; i < turns; i++) {
        const result = await players[i % players.length]!.act(
          overcome(table.players[i % players.length]!.characterId),
        );
        if (!result.ok) throw new Error(result.rejection.message);
        last = result.turn.position;
      }
      await waitFor(() => members.every((m) => m.turns.at(-1)?.position === last), 5_000, "every turn");
      for (const member of members) expect(member.narrationSoFar(last)).toMatchObject({ done: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const memberWrites of writes) {
        expect(count(memberWrites, "turn")).toBe(turns);
        expect(count(memberWrites, "narration")).toBe(0);
      }
      await Promise.all(members.map((member) => member.leave()));
    });

    it("never writes a hidden roll's prose to a player's socket, only to game masters'", async () => {
      const table = await setTable(server.url, ["Tamsin"]);
      const [tamsin] = await joinAll(table);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      await waitFor(() => tamsin!.state.head > 0 && gm.state.head > 0, 5_000, "the joining turn");
      const playerBytes: Buffer[] = [];
      const gmBytes: Buffer[] = [];
      writesTo(tamsin!, playerBytes);
      writesTo(gm, gmBytes);
      const result = await gm.act({
        ...overcome(table.players[0]!.characterId, "OPENS-THE-SEALED-DOOR"),
        hidden: true,
      });
      if (!result.ok) throw new Error(result.rejection.message);
      const { position } = result.turn;
      await waitFor(() => tamsin!.turns.some((t) => t.position === position), 5_000, "the hidden turn");
      const text = await gm.narrationText(position);
      expect(text).toContain("OPENS-THE-SEALED-DOOR");
      await new Promise((resolve) => setTimeout(resolve, 200));
      // the deed is in the GM's prose; what the player was sent holds neither the prose nor the deed
      const prose = text.slice(0, 40);
      expect(Buffer.concat(gmBytes).includes(prose)).toBe(true);
      expect(Buffer.concat(playerBytes).includes(prose)).toBe(false);
      expect(Buffer.concat(playerBytes).includes("OPENS-THE-SEALED-DOOR")).toBe(false);
      expect(tamsin!.turns.find((t) => t.position === position)?.narration).toBeNull();
      await Promise.all([tamsin!.leave(), gm.leave()]);
    });

    it("refuses a player's undo that a later hidden roll stands in the way of without naming the roll", async () => {
      const table = await setTable(server.url, ["Tamsin", "Ula"]);
      const [tamsin, ula] = await joinAll(table);
      const [tamsinId, ulaId] = table.players.map((player) => player.characterId);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      // Tamsin starts a fight, with a new warden each time her first blow takes the last one out
      let warden = "";
      for (let i = 0; i < 6 && (await table.gm.stateAt(table.universeId)).state.mode !== "conflict"; i++) {
        warden = `warden-${i}`;
        const added = await gm.act({
          kind: "npc",
          op: "add",
          id: warden,
          name: "Warden",
          skills: { Fight: 4 },
        });
        if (!added.ok) throw new Error(added.rejection.message);
        const fight = await tamsin!.act({
          kind: "action",
          characterId: tamsinId!,
          action: "attack",
          skill: "Fight",
          target: { type: "npc", id: warden },
        });
        if (!fight.ok) throw new Error(fight.rejection.message);
      }
      // Tamsin gives up the fight (no dice: hers to undo), then the GM rolls Ula's attack in secret
      const conceded = await tamsin!.act({ kind: "concede", characterId: tamsinId! });
      if (!conceded.ok) throw new Error(conceded.rejection.message);
      const secret = await gm.act({
        kind: "action",
        characterId: ulaId!,
        action: "attack",
        skill: "Fight",
        target: { type: "npc", id: warden },
        opposition: 8,
        hidden: true,
      });
      if (!secret.ok) throw new Error(secret.rejection.message);
      const refused = await tamsin!.undo(conceded.turn.position);
      expect(refused).toMatchObject({ ok: false, rejection: { code: "undo_conflict" } });
      const told = JSON.stringify(refused);
      expect(told).toContain(`turn ${conceded.turn.position}`);
      expect(told).not.toContain(`turn ${secret.turn.position} `);
      expect(told).not.toContain(String(secret.turn.position) + ",");
      // the game master is told which turn it is
      const gmRefused = await table.gm.undo(table.universeId, conceded.turn.position).then(
        () => null,
        (error: unknown) => error,
      );
      expect(gmRefused).toBeInstanceOf(LoomError);
      expect((gmRefused as LoomError).message).toContain(`turn ${secret.turn.position} changed`);
      await Promise.all([tamsin!.leave(), ula!.leave(), gm.leave()]);
    });

    it("leaves in the world everyone reads nothing of a hidden roll but the harm it deals", async () => {
      const table = await setTable(server.url, ["Tamsin"]);
      const [tamsin] = await joinAll(table);
      const tamsinId = table.players[0]!.characterId;
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const added = await gm.act({
        kind: "npc",
        op: "add",
        id: "sentry",
        name: "Sentry",
        skills: { Fight: 1 },
      });
      if (!added.ok) throw new Error(added.rejection.message);
      // the game master rolls Tamsin's attacks in secret until the sentry is taken out
      const positions: number[] = [];
      let world = (await table.gm.stateAt(table.universeId)).state;
      for (let i = 0; i < 20 && !readNpc(world, "sentry")!.takenOut; i++) {
        const secret = await gm.act({
          kind: "action",
          characterId: tamsinId,
          action: "attack",
          skill: "Fight",
          target: { type: "npc", id: "sentry" },
          opposition: -2,
          description: "SECRET-KNIFE-WORK",
          hidden: true,
        });
        if (!secret.ok) throw new Error(secret.rejection.message);
        positions.push(secret.turn.position);
        world = (await table.gm.stateAt(table.universeId)).state;
      }
      expect(readNpc(world, "sentry")!.takenOut).toBe(true);
      // what a player reads of the world there, and at every hidden roll on the way
      for (const position of [undefined, ...positions]) {
        const seen = (await table.players[0]!.client.jump(table.universeId, position)).state as UniverseState;
        const sentry = readNpc(seen, "sentry")!;
        expect(sentry.attitudes).toEqual({});
        expect(sentry.lastSeenPosition).toBe(added.turn.position);
        expect(Object.values(seen.scene.aspects)).toEqual([]);
        expect(seen.world.majorEvents).toEqual([]);
        expect(JSON.stringify(seen)).not.toContain("Tamsin takes");
      }
      // the synced state a player holds says no more
      await waitFor(() => tamsin!.state.head >= positions.at(-1)!, 5_000, "the last roll");
      expect(tamsin!.state.scene.aspects.size).toBe(0);
      // the rolls' prose is the game master's: a player waiting for it is answered at once, empty
      expect(tamsin!.state.narrated).toBe(true);
      expect(await tamsin!.narrationText(positions[0]!)).toBe("");
      expect(await gm.narrationText(positions[0]!)).toContain("Tamsin");
      await Promise.all([tamsin!.leave(), gm.leave()]);
    });

    it("answers a command sent again with its seq before its answer came, both calls with the one turn", async () => {
      const table = await setTable(server.url, ["Yara"]);
      const [yara] = await joinAll(table);
      const command = {
        kind: "custom" as const,
        characterId: table.players[0]!.characterId,
        text: "knocks twice",
      };
      const seq = yara!.nextSeq();
      const [first, retry] = await Promise.all([yara!.act(command, { seq }), yara!.act(command, { seq })]);
      expect(first).toMatchObject({ ok: true });
      expect(retry).toEqual(first);
      const knocks = (await table.gm.history(table.universeId, { kind: "custom" })).turns;
      expect(knocks.map((turn) => turn.position)).toEqual([first.ok ? first.turn.position : -1]);
      await yara!.leave();
    });

    it("refuses a seq used again for another command, idempotency_key_reused, and answers its retry with its turn", async () => {
      const table = await setTable(server.url, ["Zeb"]);
      const [zeb] = await joinAll(table);
      const characterId = table.players[0]!.characterId;
      const seq = zeb!.nextSeq();
      const knock = await zeb!.act({ kind: "custom", characterId, text: "knocks once" }, { seq });
      if (!knock.ok) throw new Error(knock.rejection.message);
      const other = await zeb!.act({ kind: "custom", characterId, text: "kicks the door in" }, { seq });
      expect(other).toMatchObject({ ok: false, rejection: { code: "idempotency_key_reused" } });
      const retry = await zeb!.act({ kind: "custom", characterId, text: "knocks once" }, { seq });
      expect(retry).toMatchObject({ ok: true, duplicate: true, turn: { position: knock.turn.position } });
      const said = (await table.gm.history(table.universeId, { kind: "custom" })).turns;
      expect(said.map((turn) => turn.events[0]?.description)).toEqual([
        expect.stringContaining("knocks once"),
      ]);
      await zeb!.leave();
    });

    it("refuses a seq sent again with another command while the first is still in flight, idempotency_key_reused", async () => {
      const table = await setTable(server.url, ["Vic"]);
      const [vic] = await joinAll(table);
      const characterId = table.players[0]!.characterId;
      const refusals: Array<{ seq: number | null; code: string }> = [];
      vic!.on("rejected", (message) => refusals.push(message));
      const seq = vic!.nextSeq();
      void vic!.act({ kind: "custom", characterId, text: "lights the lamp" }, { seq });
      // sent past the SDK, which would wait for the first's answer: another tab, or another client
      const room = vic!.room as unknown as { send: (type: string, message: unknown) => void };
      room.send(ClientMessage.Act, { seq, command: { kind: "custom", characterId, text: "burns the map" } });
      await waitFor(
        () => refusals.some((message) => message.seq === seq),
        5_000,
        "the second command's answer",
      );
      expect(refusals.filter((message) => message.seq === seq)).toEqual([
        expect.objectContaining({ code: "idempotency_key_reused" }),
      ]);
      await waitFor(
        async () => (await table.gm.history(table.universeId, { kind: "custom" })).turns.length > 0,
        5_000,
        "the first command's turn",
      );
      const said = (await table.gm.history(table.universeId, { kind: "custom" })).turns;
      expect(said.map((turn) => turn.events[0]?.description)).toEqual([
        expect.stringContaining("lights the lamp"),
      ]);
      await vic!.leave();
    });

    it("resolves an act with the turn its ack names, whichever of the two arrives first", async () => {
      const table = await setTable(server.url, ["Ula"]);
      const ula = table.players[0]!;
      const session = await ula.client.joinUniverse(table.universeId, { role: "player", runId: ula.runId });
      await waitFor(() => session.turns.length > 0, 5_000, "the joining turn");
      const known = session.turns.at(-1)!;
      const room = session.room as unknown as {
        send: (type: string, message: unknown) => void;
        dispatchMessage(type: string, message: unknown): void;
      };
      // three commands held back from the server; their answers are delivered here, as a room would
      const send = room.send.bind(room);
      room.send = () => undefined;
      const [first, second, third] = [1, 2, 3].map((seq) => session.act(overcome(ula.characterId), { seq }));
      room.send = send;
      const turnAt = (position: number, seq: number): Turn => ({
        ...known,
        position,
        id: `turn-${position}`,
        input: { ...known.input, seq },
        narration: null,
      });
      const next = known.position + 1;
      // as a room writes them: the turn, then the ack naming it
      room.dispatchMessage("turn", encodeMemberTurnMessage(turnAt(next, 1)));
      room.dispatchMessage("ack", { seq: 1, duplicate: false, position: next });
      // the ack before its turn (a turn held while the session catches up after a reconnection)
      room.dispatchMessage("ack", { seq: 2, duplicate: false, position: next + 1 });
      room.dispatchMessage("turn", encodeMemberTurnMessage(turnAt(next + 1, 2)));
      // a duplicate's ack carries its turn
      room.dispatchMessage("ack", { seq: 3, duplicate: true, position: known.position, turn: known });
      expect(await first).toMatchObject({ ok: true, duplicate: false, turn: { id: `turn-${next}` } });
      expect(await second).toMatchObject({ ok: true, duplicate: false, turn: { id: `turn-${next + 1}` } });
      expect(await third).toMatchObject({ ok: true, duplicate: true, turn: { id: known.id } });
      await session.leave();
    });

    it("never puts the access token in a room's address, and ends a session's waits for prose with it", async () => {
      const addresses: string[] = [];
      const http = (server.server as unknown as { transport: { server: HttpServer } }).transport.server;
      const heard = (request: IncomingMessage) => addresses.push(request.url ?? "");
      http.on("upgrade", heard);
      try {
        const table = await setTable(server.url, ["Ulla"]);
        const ulla = table.players[0]!;
        const session = await ulla.client.joinUniverse(table.universeId, {
          role: "player",
          runId: ulla.runId,
        });
        // the seat was taken with the token (in the matchmaking call's header), not in the address
        expect(addresses.length).toBe(1);
        expect(addresses[0]).toContain(table.universeId);
        expect(addresses[0]).not.toContain("_authToken");
        expect(addresses[0]).not.toContain(ulla.client.playerToken!);

        // a wait for prose that will never come ends when the session does
        const never = session.narrationText(1_000_000);
        const told: string[] = [];
        const streamed = (async () => {
          for await (const piece of session.narrationOf(1_000_001)) told.push(piece);
        })();
        await session.leave();
        await expect(never).rejects.toMatchObject({ code: "unavailable" });
        await streamed;
        expect(told).toEqual([]);
      } finally {
        http.off("upgrade", heard);
      }
    });

    it("applies a retried client sequence number once", async () => {
      const table = await setTable(server.url, ["Iris"]);
      const iris = table.players[0]!;
      const session = await iris.client.joinUniverse(table.universeId, { role: "player", runId: iris.runId });
      const acks: Array<{ turn?: Turn }> = [];
      session.room.onMessage("ack", (ack: { turn?: Turn }) => acks.push(ack));
      const seq = session.nextSeq();
      const first = await session.act(overcome(iris.characterId), { seq });
      const retry = await session.act(overcome(iris.characterId), { seq });
      expect(first.ok && retry.ok).toBe(true);
      if (!first.ok || !retry.ok) return;
      expect(retry.turn.position).toBe(first.turn.position);
      expect(retry.duplicate).toBe(true);
      // the turn was not broadcast again: the duplicate's ack carries it, the first's did not
      expect(acks.map((ack) => ack.turn?.id ?? null)).toEqual([null, first.turn.id]);
      const next = await session.act(overcome(iris.characterId));
      expect(next.ok && next.turn.position).toBe(first.turn.position + 1);
      await session.leave();
    });

    it("rejects malformed and oversized messages with a code and keeps the room alive", async () => {
      const table = await setTable(server.url, ["Quill"]);
      const quill = table.players[0]!;
      const session = await quill.client.joinUniverse(table.universeId, {
        role: "player",
        runId: quill.runId,
      });
      const rejections: string[] = [];
      session.on("rejected", (r) => rejections.push(r.code));
      session.room.send("act", { seq: 1, command: { kind: "action", action: "teleport" } });
      session.room.send("act", "not an object");
      session.room.send("act", {
        seq: 2,
        command: { kind: "custom", characterId: quill.characterId, text: "x".repeat(9000) },
      });
      session.room.send("dance", {});
      await waitFor(() => rejections.length === 4, 5_000, "rejections");
      expect(rejections.sort()).toEqual(
        ["invalid_message", "invalid_message", "invalid_message", "payload_too_large"].sort(),
      );
      const ok = await session.act(overcome(quill.characterId));
      expect(ok.ok).toBe(true);
      // a message larger than a frame the server reads is refused by the SDK, not sent: sent, it
      // closed the connection, and again at every seat the session got back, until it ended
      let drops = 0;
      session.on("reconnecting", () => drops++);
      const gm = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const floats = Array.from({ length: 2_000 }, (_, i) => i + 0.5); // 8 KB of JSON, 18 of msgpack
      for (const [seat, answer] of [
        [session, session.act({ kind: "custom", characterId: quill.characterId, text: "x".repeat(20_000) })],
        [gm, gm.retcon("many", [{ op: "set", path: "/world/flags/many", value: floats }])],
      ] as const) {
        expect(await answer).toMatchObject({ ok: false, rejection: { code: "payload_too_large" } });
        expect((await seat.act({ kind: "custom", characterId: quill.characterId, text: "on" })).ok).toBe(
          true,
        );
      }
      expect(drops).toBe(0);
      await Promise.all([session.leave(), gm.leave()]);
    });

    it("comes back after a graceful restart with the same state checksum and every acknowledged turn", async () => {
      const table = await setTable(server.url, ["Wren"]);
      const wren = table.players[0]!;
      const session = await wren.client.joinUniverse(table.universeId, { role: "player", runId: wren.runId });
      const acked: number[] = [];
      for (let i = 0; i < 20; i++) {
        const result = await session.act(overcome(wren.characterId));
        if (result.ok) acked.push(result.turn.position);
      }
      const gmSession = await table.gm.joinUniverse(table.universeId, { role: "gm" });
      const liveHead = gmSession.state.head;
      expect(liveHead).toBeGreaterThanOrEqual(Math.max(...acked));

      // the sessions would rejoin by themselves, the stopping server and then the restarted one
      // (and start a play session): this test reads the state the shutdown left, so they leave
      // as the shutdown takes their seat
      for (const seated of [session, gmSession]) seated.on("reconnecting", () => void seated.leave());
      // stop while the GM is still connected: the shutdown itself must flush what is pending
      await server.shutdown();
      await Promise.all([session.leave(), gmSession.leave()]);
      server = await startServer(mode, { dataDir, inMemory: false });
      const gm = connect(server.url).useToken(table.gm.playerToken!);
      const stored = await gm.stateAt(table.universeId);
      expect(stored.position).toBeGreaterThanOrEqual(liveHead);
      const page = await gm.history(table.universeId, { limit: 500, order: "asc" });
      expect(page.turns.map((t) => t.position)).toEqual(
        Array.from({ length: stored.position }, (_, i) => i + 1),
      );
      expect(page.turns.map((t) => t.position)).toEqual(expect.arrayContaining(acked));
      expect(checksum(stored.state)).toBe(stored.checksum);

      // a room hydrated on the restarted server has exactly the stored state
      const again = await gm.joinUniverse(table.universeId, { role: "gm" });
      expect(again.state.head).toBe(stored.position);
      await again.leave();
      const restated = await gm.stateAt(table.universeId, stored.position);
      expect(restated.checksum).toBe(stored.checksum);
    });
  });
}

describe("state patches with turns", () => {
  let server: LoomServer & { url: string };
  beforeAll(async () => {
    server = await startServer(modes()[0]!, { patchIntervalMs: 1_000 });
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it("sends the patch a turn causes in that turn's write, and no patch alone", async () => {
    const table = await setTable(server.url, ["Wren"]);
    const wren = table.players[0]!;
    const session = await wren.client.joinUniverse(table.universeId, { role: "player", runId: wren.runId });
    const writes = writesTo(session);
    // joining made turns (and maybe a patch); an interval later the next turn carries one, and
    // the timer sends none until one and a half intervals after that
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const first = await session.act(overcome(wren.characterId));
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    await waitFor(() => session.room.state.head === first.turn.position, 5_000, "the patched head");
    expect(writes.find((types) => types.includes("turn"))).toEqual(
      expect.arrayContaining(["ack", "turn", "patch"]),
    );
    // the next turn comes within the interval: its change waits for a later turn's patch
    const second = await session.act(overcome(wren.characterId));
    expect(second.ok).toBe(true);
    expect(writes.filter((types) => types.includes("patch") && !types.includes("turn"))).toEqual([]);
    expect(writes.filter((types) => types.includes("patch"))).toHaveLength(1);
    await session.leave();
  });
});

/** How a promise ended within `ms`: its value, its error, or still pending. */
async function settledWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ value: T } | { error: unknown } | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    pending,
  ]).finally(() => clearTimeout(timer));
}

type Seat = Table["players"][number];

// A seat taken but closed before the room's state reached it: the server refused it right after
// the join, or the room went away (its owner fenced, as when the universe moved). The client holds
// its answer to JOIN_ROOM (support/seat-watch.ts), so the close lands in that window every time.
for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a seat closed before its state (${mode.name})`, () => {
    let server: LoomServer & { url: string };

    beforeAll(async () => {
      server = await startServer(mode, { port: 2606 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    /** The universe's room here, closed as an owner that lost its lease closes it. */
    const closeRoom = async (universeId: string) => {
      await matchMaker.getLocalRoomById(universeId)?.disconnect(CloseCode.UniverseMoved);
    };
    /** The player's connections to the universe's room on this server. */
    const seatsOf = (universeId: string, playerId: string) =>
      (matchMaker.getLocalRoomById(universeId)?.clients ?? []).filter(
        (client) => (client.userData as { playerId?: string } | undefined)?.playerId === playerId,
      );

    /**
     * A new table's player joins while the client holds the server's answer to the join and runs
     * `whileHeld`: the join must end with a LoomError of `code` and leave nothing going on behind
     * the caller (no rejoin, which would open the universe again, and no seat).
     */
    async function refusedJoin(
      playerName: string,
      whileHeld: (table: Table, player: Seat) => Promise<void>,
      code: string,
    ): Promise<{ table: Table; player: Seat; error: LoomError; endedAt: number }> {
      const table = await setTable(server.url, [playerName]);
      const player = table.players[0]!;
      const seats = watchSeats(player.client, () => whileHeld(table, player));
      seats.holdAcks = 1;

      const outcome = await settledWithin(
        player.client.joinUniverse(table.universeId, { role: "player", runId: player.runId }),
        15_000,
      );
      const endedAt = Date.now();
      expect(outcome, "the join to end").not.toBe("pending");
      const error = (outcome as { error?: unknown }).error;
      expect(error).toBeInstanceOf(LoomError);
      expect(error).toMatchObject({ code });
      expect(seats.errors).toEqual([]);

      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(seats.rooms).toHaveLength(1);
      expect(seatsOf(table.universeId, player.playerId)).toEqual([]);
      return { table, player, error: error as LoomError, endedAt };
    }

    it("a join the server refuses right after it was made fails with the refusal's code, and leaves no seat", async () => {
      let heldAt = 0;
      const { endedAt } = await refusedJoin(
        "Alex",
        async (table, alex) => {
          heldAt = Date.now();
          await table.gm.removeMember(table.universeId, alex.playerId);
        },
        "member_removed",
      );
      expect(endedAt - heldAt).toBeLessThan(10_000);
    });

    it("a join whose room goes away before its state fails unavailable, rejoins nothing, and a new join plays", async () => {
      const {
        table,
        player: bea,
        error,
      } = await refusedJoin("Bea", (table) => closeRoom(table.universeId), "unavailable");
      expect(error.message).toContain(`(${CloseCode.UniverseMoved})`);

      // it was the room, not the seat: joining again works
      const session = await bea.client.joinUniverse(table.universeId, { role: "player", runId: bea.runId });
      expect((await session.act(overcome(bea.characterId))).ok).toBe(true);
      await session.leave();
    });

    /** What a session went through as it rejoined, in order. */
    const rejoinEvents = (session: UniverseSession) => {
      const events: string[] = [];
      for (const event of ["reconnecting", "reconnected", "leave"] as const)
        session.on(event, () => events.push(event));
      return events;
    };
    /** Once seated again, the session takes a turn from one seat, and nothing went wrong holding. */
    async function playsInOneSeat(
      session: UniverseSession,
      seats: SeatWatch,
      universeId: string,
      player: Seat,
    ) {
      expect((await session.act(overcome(player.characterId))).ok).toBe(true);
      expect(seatsOf(universeId, player.playerId)).toHaveLength(1);
      expect(seats.errors).toEqual([]);
      await session.leave();
    }

    it("a rejoin whose room goes away before its state tries again and is seated once", async () => {
      const table = await setTable(server.url, ["Cole"]);
      const cole = table.players[0]!;
      const seats = watchSeats(cole.client, () => closeRoom(table.universeId));
      const session = await cole.client.joinUniverse(table.universeId, { role: "player", runId: cole.runId });
      const events = rejoinEvents(session);
      expect((await session.act(overcome(cole.characterId))).ok).toBe(true);

      // the universe moves: the session rejoins, and the first room it gets closes before its state
      seats.holdAcks = 1;
      await closeRoom(table.universeId);
      await waitFor(() => events.includes("reconnected"), 20_000, "the session seated again");
      expect(seats.holdAcks).toBe(0);
      expect(seats.rooms).toHaveLength(3);
      expect(session.room).toBe(seats.rooms[2]);
      expect(events).toEqual(["reconnecting", "reconnected"]);
      await playsInOneSeat(session, seats, table.universeId, cole);
    });

    it("a rejoin whose connection breaks before its state gets the seat back and is seated once", async () => {
      const table = await setTable(server.url, ["Emry"]);
      const emry = table.players[0]!;
      // the state was sent, but the connection breaks before it arrives: the server gives the
      // same seat back, and its state comes again
      const seats = watchSeats(emry.client, (room) => breakConnection(room));
      const session = await emry.client.joinUniverse(table.universeId, { role: "player", runId: emry.runId });
      const events = rejoinEvents(session);

      seats.holdStates = 1;
      await closeRoom(table.universeId);
      await waitFor(() => events.includes("reconnected"), 20_000, "the session seated again");
      expect(seats.holdStates).toBe(0);
      // a moment for a second seating, had there been one
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events).toEqual(["reconnecting", "reconnected"]);
      expect(seats.rooms).toHaveLength(2);
      await playsInOneSeat(session, seats, table.universeId, emry);
    });

    it("a failover whose every room goes away before its state gives up at its deadline", async () => {
      const table = await setTable(server.url, ["Dara"]);
      const dara = table.players[0]!;
      const failoverMs = 2_000;
      const client = connect(server.url, { failoverMs }).useToken(
        dara.client.playerToken!,
        dara.client.refreshToken,
      );
      const seats = watchSeats(client, () => closeRoom(table.universeId));
      const session = await client.joinUniverse(table.universeId, { role: "player", runId: dara.runId });
      const events: string[] = [];
      session.on("reconnecting", () => events.push("reconnecting"));
      session.on("reconnected", () => events.push("reconnected"));
      let leftAt = 0;
      session.on("leave", () => {
        events.push("leave");
        leftAt = Date.now();
      });

      seats.holdAcks = Infinity;
      const movedAt = Date.now();
      await closeRoom(table.universeId);
      // each closed room is one attempt of the same failover, waited for in turn: it ends
      await waitFor(() => events.includes("leave"), 20_000, "the failover to give up");
      expect(events).toEqual(["reconnecting", "leave"]);
      expect(leftAt - movedAt).toBeLessThan(failoverMs + 5_000);
      expect(seats.rooms.length).toBeGreaterThan(2);
      expect(seats.errors).toEqual([]);

      // nothing goes on after it
      const tried = seats.rooms.length;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(seats.rooms).toHaveLength(tried);
      expect(seatsOf(table.universeId, dara.playerId)).toEqual([]);
    });

    it("a join whose state never comes fails unavailable after firstStateMs and gives its seat up", async () => {
      const table = await setTable(server.url, ["Fenn"]);
      const fenn = table.players[0]!;
      const client = connect(server.url, { firstStateMs: 1_000 }).useToken(
        fenn.client.playerToken!,
        fenn.client.refreshToken,
      );
      const seats = watchSeats(client);
      seats.holdStates = 1;

      const outcome = await settledWithin(
        client.joinUniverse(table.universeId, { role: "player", runId: fenn.runId }),
        10_000,
      );
      expect(outcome, "the join to end").not.toBe("pending");
      expect((outcome as { error?: unknown }).error).toMatchObject({ code: "unavailable" });
      await waitFor(() => seatsOf(table.universeId, fenn.playerId).length === 0, 5_000, "the seat given up");
      expect(seats.rooms).toHaveLength(1);
      expect(seats.errors).toEqual([]);

      // the next join, its state let through, plays
      const session = await client.joinUniverse(table.universeId, { role: "player", runId: fenn.runId });
      expect((await session.act(overcome(fenn.characterId))).ok).toBe(true);
      await session.leave();
    });
  });
}

describe("a server whose narrator is off", () => {
  let server: LoomServer & { url: string };
  beforeAll(async () => {
    server = await startServer(modes()[0]!, {
      port: 2608,
      narrator: { ...loadConfig({}).narrator, kind: "off" },
    });
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it("says in the room that no prose comes", async () => {
    const table = await setTable(server.url, ["Wren"]);
    const [wren] = await joinAll(table);
    const acted = await wren!.act(overcome(table.players[0]!.characterId));
    if (!acted.ok) throw new Error(acted.rejection.message);
    expect(acted.turn.narration).toBeNull();
    expect(wren!.state.narrated).toBe(false);
    await wren!.leave();
  });
});
