import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { refusal } from "./support/refusals.ts";
import { modes, startServer } from "./support/server.ts";
import { overcome, setTable, type Table } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";
import { storePlayedUniverse } from "../server/src/persist/testing/played.ts";
import { templateNarration } from "../server/src/persist/testing/narration.ts";
import { bookmarksOf } from "@loom/shared";

const GM_NOTE = "the-ferryman-is-a-spy";
const MARA_PRIVATE = "mara-fears-deep-water";
const KELL_PRIVATE = "kell-stole-the-map";
const HIDDEN_ROLL = "under-the-pier";

interface Played {
  /** Mara's and Kell's sessions, still at the table (left when the suite ends). */
  sessions: UniverseSession[];
  table: Table;
  mara: Table["players"][number];
  kell: Table["players"][number];
  /** Mara's and Kell's newest turns. */
  maraLatest: number;
  kellLatest: number;
  head: number;
  scenePosition: number;
  majorPosition: number;
  hiddenPosition: number;
}

/**
 * A private universe: a GM's scene, a major world event carrying a GM note on Mara, a hidden roll;
 * Mara and Kell, each with a private note on their sheet, play a few turns each.
 */
async function play(url: string): Promise<Played> {
  const table = await setTable(url, ["Mara", "Kell"], {
    Mara: { notes: `I am ${MARA_PRIVATE}` },
    Kell: { notes: `I am ${KELL_PRIVATE}` },
  });
  const [mara, kell] = table.players as [Table["players"][number], Table["players"][number]];
  const gmSession = await table.gm.joinUniverse(table.universeId, { role: "gm" });
  const maraSession = await mara.client.joinUniverse(table.universeId, { role: "player", runId: mara.runId });
  const kellSession = await kell.client.joinUniverse(table.universeId, { role: "player", runId: kell.runId });
  const scene = await gmSession.act({ kind: "scene", title: "The drowned pier", aspects: ["Rotten planks"] });
  const major = await gmSession.act({
    kind: "world_event",
    text: "The ferry burns in the harbour",
    major: true,
    deltas: [{ op: "set", path: `/characters/${mara.characterId}/gmNotes`, value: `watch: ${GM_NOTE}` }],
  });
  const hidden = await gmSession.act({
    kind: "action",
    action: "overcome",
    characterId: kell.characterId,
    skill: "Notice",
    opposition: 1,
    description: `looks ${HIDDEN_ROLL}`,
    hidden: true,
  });
  let maraLatest = 0;
  let kellLatest = 0;
  for (let i = 0; i < 3; i++) {
    const m = await maraSession.act(overcome(mara.characterId, `Mara crosses plank ${i}`));
    const k = await kellSession.act(overcome(kell.characterId, `Kell follows ${i}`));
    if (!m.ok || !k.ok) throw new Error("a turn was refused");
    maraLatest = m.turn.position;
    kellLatest = k.turn.position;
  }
  if (!scene.ok || !major.ok || !hidden.ok) throw new Error("a GM turn was refused");
  await gmSession.leave();
  // the players stay: their latest turns are the acts above, not a session end
  return {
    sessions: [maraSession, kellSession],
    table,
    mara,
    kell,
    maraLatest,
    kellLatest,
    head: kellLatest,
    scenePosition: scene.turn.position,
    majorPosition: major.turn.position,
    hiddenPosition: hidden.turn.position,
  };
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`players' time travel (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let played: Played;
    let stranger: LoomClient;

    beforeAll(async () => {
      server = await startServer(mode, { port: 2660 });
      played = await play(server.url);
      stranger = connect(server.url);
      await stranger.registerPlayer("Stranger");
    }, 60_000);
    afterAll(async () => {
      for (const session of played?.sessions ?? []) await session.leave();
      await server?.shutdown();
    });

    it("a player jumps through the whole history and sees nothing of the GM's or the other player's", async () => {
      const { table, mara, kell, head } = played;
      for (let position = 0; position <= head; position++) {
        const seen = await kell.client.jump(table.universeId, position);
        expect(seen.position).toBe(position);
        expect(seen.head).toBe(head);
        const text = JSON.stringify(seen);
        expect(text).not.toContain(GM_NOTE);
        expect(text).not.toContain(MARA_PRIVATE);
        expect(text).not.toContain(HIDDEN_ROLL);
        if (position > 0) expect(seen.turn?.position).toBe(position);
        else expect(seen.turn).toBeNull();
      }
      // the jump is the state the GM sees, less what is not Kell's
      const gmAt = await table.gm.stateAt(table.universeId, played.majorPosition);
      expect(JSON.stringify(gmAt.state)).toContain(GM_NOTE);
      const kellAt = await kell.client.jump(table.universeId, played.majorPosition);
      const characters = kellAt.state.characters as Record<string, { name: string; private?: unknown }>;
      expect(characters[mara.characterId]?.name).toBe("Mara");
      expect(characters[mara.characterId]).not.toHaveProperty("private");
      expect(characters[mara.characterId]).not.toHaveProperty("gmNotes");
      expect(JSON.stringify(characters[kell.characterId]?.private)).toContain(KELL_PRIVATE);
      expect((kellAt.state.scene as { title: string }).title).toBe("The drowned pier");
      // the hidden roll shows only that it happened
      const hidden = await kell.client.jump(table.universeId, played.hiddenPosition);
      expect(hidden.turn).toMatchObject({ position: played.hiddenPosition, deltas: [], resolution: null });
      // Mara sees her own private note; the head is the default
      const maraNow = await mara.client.jump(table.universeId);
      expect(maraNow.position).toBe(head);
      expect(JSON.stringify(maraNow)).toContain(MARA_PRIVATE);
      expect(JSON.stringify(maraNow)).not.toContain(KELL_PRIVATE);
      expect(await refusal(kell.client.jump(table.universeId, head + 1))).toMatchObject({
        code: "not_found",
        status: 404,
      });
    });

    it("a player cannot jump into a universe that is not theirs", async () => {
      const { table, kell } = played;
      expect(await refusal(stranger.jump(table.universeId, 1))).toMatchObject({
        code: "not_a_member",
        status: 403,
      });
      expect(await refusal(stranger.bookmarks(table.universeId))).toMatchObject({ code: "not_a_member" });
      const elsewhere = await table.gm.createUniverse({ name: "Another coast" });
      expect(await refusal(kell.client.jump(elsewhere.id, 0))).toMatchObject({
        code: "not_a_member",
        status: 403,
      });
      expect(await refusal(kell.client.jump("no-such-universe", 0))).toMatchObject({
        code: "unknown_universe",
      });
    });

    it("bookmarks: session starts, the scene and the major event for everyone, never the hidden roll", async () => {
      const { table, kell } = played;
      const marks = await kell.client.bookmarks(table.universeId);
      const kinds = new Map(marks.map((mark) => [mark.position, mark.kind]));
      expect(kinds.get(played.scenePosition)).toBe("scene");
      expect(kinds.get(played.majorPosition)).toBe("major_event");
      expect(kinds.has(played.hiddenPosition)).toBe(false);
      expect(marks.filter((mark) => mark.kind === "session_start")).toHaveLength(2);
      expect(marks.map((mark) => mark.position)).toEqual(
        [...marks.map((mark) => mark.position)].sort((a, b) => a - b),
      );
      expect(JSON.stringify(marks)).not.toContain(GM_NOTE);
      expect(await table.gm.bookmarks(table.universeId)).toEqual(marks);
    });

    it("the snapshot list is the game master's", async () => {
      const { table, kell } = played;
      const snapshots = await table.gm.snapshots(table.universeId);
      expect(snapshots[0]).toMatchObject({ universeId: table.universeId, position: 0, reason: "genesis" });
      expect(snapshots.every((snapshot) => /^[0-9a-f]{64}$/.test(snapshot.checksum))).toBe(true);
      expect(await refusal(kell.client.snapshots(table.universeId))).toMatchObject({
        code: "not_allowed",
        status: 403,
      });
    });

    it("a save point goes at the player's latest turn still standing: one the game master undid is not theirs to stand on", async () => {
      const { universeId, gm, players } = await setTable(server.url, ["Ysolde"]);
      const ysolde = players[0]!;
      const session = await ysolde.client.joinUniverse(universeId, { role: "player", runId: ysolde.runId });
      const says = async (text: string) => {
        const said = await session.act({ kind: "custom", characterId: ysolde.characterId, text });
        if (!said.ok) throw new Error(`refused: ${said.rejection.message}`);
        return said.turn.position;
      };
      const first = await says("lights the lamp");
      const second = await says("opens the door");
      await gm.undo(universeId, second);
      expect(await refusal(ysolde.client.nameSavePoint(universeId, second, "At the door"))).toMatchObject({
        code: "not_your_latest_turn",
      });
      await expect(ysolde.client.nameSavePoint(universeId, first, "By the lamp")).resolves.toMatchObject({
        position: first,
      });
      await session.leave();
    });

    it("a player names a save point at their latest turn; other names and places are refused with a code", async () => {
      const { table, mara, kell, maraLatest, kellLatest } = played;
      const saved = await mara.client.nameSavePoint(table.universeId, maraLatest, "  Before the bridge ");
      expect(saved).toMatchObject({
        name: "Before the bridge",
        position: maraLatest,
        playerId: mara.playerId,
      });
      const refusals = await Promise.all([
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest, "Before the bridge")),
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest, "")),
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest, "   ")),
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest, "x".repeat(81))),
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest, "two\nlines")),
        refusal(mara.client.nameSavePoint(table.universeId, maraLatest - 2, "Earlier")),
        refusal(kell.client.nameSavePoint(table.universeId, maraLatest, "Hers, not mine")),
        refusal(stranger.nameSavePoint(table.universeId, 1, "Trespass")),
        refusal(table.gm.nameSavePoint(table.universeId, kellLatest, "A GM plays no turn of a run")),
      ]);
      expect(refusals.map((r) => `${r.status} ${r.code}`)).toEqual([
        "409 save_point_name_taken",
        "400 invalid_message",
        "400 invalid_message",
        "400 invalid_message",
        "400 invalid_message",
        "409 not_your_latest_turn",
        "409 not_your_latest_turn",
        "403 not_a_member",
        "409 not_your_latest_turn",
      ]);
      // 80 characters are fine; the same name is another player's to use too
      expect(await mara.client.nameSavePoint(table.universeId, maraLatest, "y".repeat(80))).toMatchObject({
        position: maraLatest,
      });
      await kell.client.nameSavePoint(table.universeId, kellLatest, "Before the bridge");
      // each player lists their own save points; the GM lists everyone's
      const saves = (marks: Array<{ kind: string; position: number; label: string }>) =>
        marks.filter((mark) => mark.kind === "save_point").map((mark) => `${mark.position} ${mark.label}`);
      expect(saves(await mara.client.bookmarks(table.universeId))).toEqual([
        `${maraLatest} save point: Before the bridge`,
        `${maraLatest} save point: ${"y".repeat(80)}`,
      ]);
      expect(saves(await kell.client.bookmarks(table.universeId))).toEqual([
        `${kellLatest} save point: Before the bridge`,
      ]);
      expect(saves(await table.gm.bookmarks(table.universeId))).toHaveLength(3);
    });

    it("a GM hands a branch to a player, who plays it alone; nobody else joins without a new invite", async () => {
      const { table, mara, kell } = played;
      const branch = await table.gm.branch(table.universeId, played.majorPosition, "Mara alone");
      // the branch starts with the table's members, as every branch does
      expect((await kell.client.jump(branch.id, 1)).position).toBe(1);
      expect(await refusal(kell.client.handOver(branch.id, kell.playerId))).toMatchObject({
        code: "not_allowed",
      });
      expect(await refusal(table.gm.handOver(table.universeId, mara.playerId))).toMatchObject({
        code: "not_a_branch",
        status: 409,
      });
      expect(await refusal(table.gm.handOver(branch.id, "no-such-player"))).toMatchObject({
        code: "not_found",
      });
      // nor to a stranger, who never accepted an invite to it
      const stranger = connect(server.url);
      const { player: outsider } = await stranger.registerPlayer("Stranger");
      expect(await refusal(table.gm.handOver(branch.id, outsider.id))).toMatchObject({
        code: "not_a_member",
        status: 409,
      });
      expect((await stranger.listUniverses()).map((universe) => universe.id)).not.toContain(branch.id);
      expect((await table.gm.listMembers(branch.id)).map((member) => member.playerId)).toContain(
        kell.playerId,
      );
      const kellOnBranch = await kell.client.startRun(branch.id, kell.characterId);

      const handed = await table.gm.handOver(branch.id, mara.playerId);
      expect(handed.member).toMatchObject({
        universeId: branch.id,
        playerId: mara.playerId,
        removedAt: null,
      });
      expect(handed.removed).toEqual([kell.playerId]);
      expect(handed.universe).toMatchObject({ id: branch.id, visibility: "private" });
      expect((await table.gm.listMembers(branch.id)).map((member) => member.playerId)).toEqual([
        mara.playerId,
      ]);

      // Mara plays her timeline; the parent does not see it
      const run = await mara.client.startRun(branch.id, mara.characterId);
      const session = await mara.client.joinUniverse(branch.id, { role: "player", runId: run.id });
      const acted = await session.act(overcome(mara.characterId, "Mara walks the pier alone"));
      expect(acted.ok).toBe(true);
      await session.leave();
      expect((await mara.client.jump(branch.id)).turn?.kind).toBe("session_end");
      expect((await table.gm.history(table.universeId, { limit: 500 })).turns.map((t) => t.id)).not.toContain(
        acted.ok ? acted.turn.id : "",
      );

      // Kell is out: no jump, no seat, and the parent's invite does not bring him in
      expect(await refusal(kell.client.jump(branch.id, 1))).toMatchObject({ code: "not_a_member" });
      expect(
        await refusal(kell.client.joinUniverse(branch.id, { role: "player", runId: kellOnBranch.id })),
      ).toMatchObject({
        code: "not_a_member",
      });
      await kell.client.acceptInvite(table.inviteCode);
      expect(await refusal(kell.client.bookmarks(branch.id))).toMatchObject({ code: "not_a_member" });
      // until the GM invites him to the branch itself
      const invite = await table.gm.createInvite(branch.id);
      await kell.client.acceptInvite(invite.code);
      expect((await kell.client.jump(branch.id, 1)).position).toBe(1);
    });

    it("a game master's undo in a branch with no turn of its own is nothing_to_undo; a parent's turn by position is not_allowed", async () => {
      const { table } = played;
      const branch = await table.gm.branch(table.universeId, played.majorPosition, "Untouched");
      expect(await refusal(table.gm.undo(branch.id))).toMatchObject({ code: "nothing_to_undo", status: 409 });
      expect(await refusal(table.gm.undo(branch.id, played.majorPosition))).toMatchObject({
        code: "not_allowed",
        message: expect.stringContaining("before this branch's start"),
      });
      // once the branch has a turn of its own, that turn is what an undo without a position takes
      const gm = await table.gm.joinUniverse(branch.id, { role: "gm" });
      const posted = await gm.act({ kind: "world_event", text: "A branch of its own", major: false });
      if (!posted.ok) throw new Error(posted.rejection.message);
      await gm.leave();
      expect((await table.gm.undo(branch.id)).input).toMatchObject({ targetPosition: posted.turn.position });
    });

    it("a game master undoes a turn far back, behind every turn the room keeps at hand, by the same rules as a recent one", async () => {
      const { universeId, gm, players } = await setTable(server.url, ["Oona"]);
      const oona = players[0]!;
      const desk = await gm.joinUniverse(universeId, { role: "gm" });
      const seat = await oona.client.joinUniverse(universeId, { role: "player", runId: oona.runId });
      const act = async (command: Parameters<UniverseSession["act"]>[0]) => {
        const result = await desk.act(command);
        if (!result.ok) throw new Error(result.rejection.message);
        return result.turn.position;
      };
      const note = (path: string, value: string) =>
        act({ kind: "world_event", text: `note ${value}`, deltas: [{ op: "set", path, value }] });
      const sheet = `/characters/${oona.characterId}`;
      const kept = await act({ kind: "npc", op: "add", id: "far-ferryman", name: "The Far Ferryman" });
      const touchedAgain = await note(`${sheet}/highConcept`, "Oona, first concept");
      const undoneEarly = await note(`${sheet}/trouble`, "an early trouble");
      const undoEarly = await gm.undo(universeId, undoneEarly);
      const own = await seat.act({ kind: "custom", characterId: oona.characterId, text: "hums a sea song" });
      if (!own.ok) throw new Error(own.rejection.message);
      for (let i = 0; i < 240; i++) await act(overcome(oona.characterId, `Oona wades on ${i}`));
      const later = await note(`${sheet}/highConcept`, "Oona, second concept");
      for (let i = 0; i < 10; i++) await act(overcome(oona.characterId, `Oona climbs ${i}`));
      await desk.leave();
      await seat.leave();

      // a later turn changed the same path: refused with the turn that did, as a recent one would be
      expect(await refusal(gm.undo(universeId, touchedAgain))).toMatchObject({
        code: "undo_conflict",
        status: 409,
        message: expect.stringContaining(`turn ${later} changed what turn ${touchedAgain} changed`),
      });
      // undone once already, far back
      expect(await refusal(gm.undo(universeId, undoneEarly))).toMatchObject({
        code: "nothing_to_undo",
        message: expect.stringContaining("already undone"),
      });
      expect(await refusal(gm.undo(universeId, undoEarly.position))).toMatchObject({
        code: "nothing_to_undo",
        message: expect.stringContaining("is an undo"),
      });
      // a player's own words, far back: theirs to undo while the last thing they did, a game master's now
      expect(await refusal(oona.client.undo(universeId, own.turn.position))).toMatchObject({
        code: "not_allowed",
        message: expect.stringContaining("only the last thing they did"),
      });
      // nothing since touched it: undone, and its change is gone from the state
      const undo = await gm.undo(universeId, kept);
      expect(undo.input).toMatchObject({ targetPosition: kept });
      const now = await gm.stateAt(universeId, undo.position);
      expect(JSON.stringify(now.state)).not.toContain("The Far Ferryman");
      expect(await refusal(gm.undo(universeId, kept))).toMatchObject({ code: "nothing_to_undo" });
    }, 120_000);

    it("a long campaign's bookmarks come a page at a time, and the pages together are every bookmark", async () => {
      // given a campaign played by the rules, 4,000 turns long (more world events than one page reads)
      const gm = connect(server.url);
      const { player } = await gm.registerPlayer("Chronicler");
      const id = `bookmarked-${Date.now().toString(36)}`;
      await storePlayedUniverse(server.services.turnStore, {
        id,
        createdBy: player.id,
        turns: 4_000,
        seed: 7,
      });
      const expected = bookmarksOf(await server.services.turnStore.turnsBetween(id, 0, 4_000));
      // when the game master reads the newest page, then the older ones
      const first = await gm.bookmarkPage(id);
      expect(first.nextBefore).not.toBeNull();
      expect(first.bookmarks.every((mark) => mark.position >= first.nextBefore!)).toBe(true);
      const second = await gm.bookmarkPage(id, first.nextBefore!);
      expect(second.bookmarks.every((mark) => mark.position < first.nextBefore!)).toBe(true);
      // then all of them, page after page, are the bookmarks of every turn, each once
      const all = await gm.bookmarks(id);
      expect(all.length).toBeGreaterThan(first.bookmarks.length);
      expect(all).toEqual(expected);
      expect(await refusal(gm.bookmarkPage(id, -1))).toMatchObject({ code: "invalid_message", status: 400 });
    }, 120_000);

    it("the game master scrubs a long campaign: each position's turn is the one the turn route reads, a retelling shown at once", async () => {
      // given a campaign played by the rules, long enough for the scrubber to index it
      const gm = connect(server.url);
      const { player } = await gm.registerPlayer("Scrubber");
      const id = `scrubbed-${Date.now().toString(36)}`;
      const head = 1_537;
      await storePlayedUniverse(server.services.turnStore, {
        id,
        createdBy: player.id,
        turns: head,
        seed: 11,
      });
      // when the game master scrubs until the index answers, then across the whole timeline
      await expect
        .poll(async () => (await gm.scrub(id, 1_200)).source.kind, { timeout: 60_000, interval: 100 })
        .toBe("index");
      for (let position = 1; position <= head; position += 13) {
        const scrubbed = await gm.scrub(id, position);
        // then every position shows the turn the turn route reads there, and the head
        expect(scrubbed.turn, `position ${position}`).toEqual(await gm.turn(id, position));
        expect(scrubbed.head).toBe(head);
      }
      // and a turn's narration, recorded after it was scrubbed, and then a retelling, each show at the next scrub
      const retold = 1_001;
      expect((await gm.scrub(id, retold)).turn?.narration).toBeNull();
      const told = templateNarration("Rain on the tin roof.");
      expect(await server.services.turnStore.setNarration(id, retold, told)).toBe(true);
      expect((await gm.scrub(id, retold)).turn?.narration?.text).toBe(told.text);
      const telling = await gm.retell(id, retold);
      const scrubbed = await gm.scrub(id, retold);
      expect(scrubbed.turn?.narration?.retellings?.at(-1)?.text).toBe(telling.text);
      expect(scrubbed.turn).toEqual(await gm.turn(id, retold));
      // and a player who is not a game master is refused, as before the index
      expect(await refusal(stranger.scrub(id, retold))).toMatchObject({ status: 403 });
    }, 180_000);
  });
}
