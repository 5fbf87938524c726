import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bookmark, SavePointRecord } from "@loom/shared";
import { connect, type UniverseSession } from "../client-sdk/src/index.ts";
import { refusal } from "./support/refusals.ts";
import { modes, startServer, tempDir } from "./support/server.ts";
import { overcome, setTable, sheet, type Table } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";
import { importJsonl, type ImportResult } from "../server/src/export/index.ts";

const CAP = 3;

type Seat = Table["players"][number];

/** Every bookmark page from the newest down, each as the server answered it. */
async function allPages(seat: Pick<Seat, "client">, universeId: string): Promise<Bookmark[][]> {
  const pages: Bookmark[][] = [];
  let before: number | undefined;
  do {
    const page = await seat.client.bookmarkPage(universeId, before);
    pages.push(page.bookmarks);
    before = page.nextBefore ?? undefined;
  } while (before !== undefined);
  return pages;
}

/**
 * A universe exported by its game master, its file given these save points, and imported into the
 * server's own database as `loom import` does, bounded by no cap.
 */
async function importWithSavePoints(
  server: LoomServer & { url: string },
  gmToken: string,
  universeId: string,
  savePoints: ReadonlyArray<Omit<SavePointRecord, "universeId">>,
): Promise<ImportResult> {
  const exported = await fetch(`${server.url}/api/universes/${universeId}/export`, {
    headers: { authorization: `Bearer ${gmToken}` },
  });
  expect(exported.status).toBe(200);
  const lines = (await exported.text()).trim().split("\n");
  const end = JSON.parse(lines.pop()!) as { type: "end"; savePoints: number };
  expect(end).toMatchObject({ type: "end", savePoints: 0 });
  for (const save of savePoints) lines.push(JSON.stringify({ type: "save_point", ...save }));
  lines.push(JSON.stringify({ ...end, savePoints: savePoints.length }));
  const file = join(tempDir("loom-save-point-cap-"), `${universeId}.jsonl`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  const { turnStore, accountStore } = server.services;
  const imported = await importJsonl({ turnStore, accountStore }, file, {});
  // its search documents are indexed behind the import's appends
  await turnStore.settleSearchIndex();
  return imported;
}

const savesIn = (marks: Bookmark[]) =>
  marks.filter((mark) => mark.kind === "save_point").map((mark) => mark.name ?? "");

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a cap on save points (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    let table: Table;
    let sessions: UniverseSession[] = [];
    /** Each player's newest turn, where their save points are named. */
    const latest = new Map<string, number>();

    beforeAll(async () => {
      server = await startServer(mode, { port: 2680, maxSavePoints: CAP });
      table = await setTable(server.url, ["Mara", "Kell", "Tam"]);
      for (const seat of table.players) {
        const session = await seat.client.joinUniverse(table.universeId, {
          role: "player",
          runId: seat.runId,
        });
        sessions.push(session);
        const acted = await session.act(overcome(seat.characterId));
        if (!acted.ok) throw new Error("a turn was refused");
        latest.set(seat.playerId, acted.turn.position);
      }
    }, 60_000);
    afterAll(async () => {
      for (const session of sessions) await session.leave();
      sessions = [];
      await server?.shutdown();
    });

    const name = (seat: Seat, text: string, universeId = table.universeId) =>
      seat.client.nameSavePoint(universeId, latest.get(seat.playerId)!, text);

    it("a player's save point past the cap is refused with a code and nothing is written; a name held is still that answer", async () => {
      const [mara] = table.players as [Seat];
      for (const text of ["Dawn", "Noon", "Dusk"])
        expect(await name(mara, text)).toMatchObject({ name: text });
      expect(await refusal(name(mara, "Midnight"))).toMatchObject({
        status: 409,
        code: "too_many_save_points",
      });
      // naming one of hers again names nothing new: the answer is the name, at the cap too
      expect(await refusal(name(mara, "Noon"))).toMatchObject({ status: 409, code: "save_point_name_taken" });
      const held = await server.services.savePoints.listSavePoints(table.universeId, {
        playerId: mara.playerId,
        limit: 100,
      });
      expect(held.map((save) => save.name).sort()).toEqual(["Dawn", "Dusk", "Noon"]);
      expect(savesIn(await mara.client.bookmarks(table.universeId)).sort()).toEqual(["Dawn", "Dusk", "Noon"]);
    });

    it("the cap is each player's: another player at the same table names theirs", async () => {
      const [mara, kell] = table.players as [Seat, Seat];
      for (const text of ["Dawn", "Noon", "Dusk"])
        expect(await name(kell, text)).toMatchObject({ name: text });
      expect(await refusal(name(kell, "Midnight"))).toMatchObject({ code: "too_many_save_points" });
      expect(savesIn(await kell.client.bookmarks(table.universeId)).sort()).toEqual(["Dawn", "Dusk", "Noon"]);
      expect(savesIn(await mara.client.bookmarks(table.universeId))).toHaveLength(CAP);
      expect(savesIn(await table.gm.bookmarks(table.universeId))).toHaveLength(2 * CAP);
    });

    it("the cap is per universe: a player at the cap here names one in another universe", async () => {
      const [mara] = table.players as [Seat];
      const elsewhere = await table.gm.createUniverse({ name: "The Ash Steps" });
      await mara.client.acceptInvite((await table.gm.createInvite(elsewhere.id)).code);
      const { character, run } = await mara.client.createCharacter(elsewhere.id, sheet("Mara"));
      const session = await mara.client.joinUniverse(elsewhere.id, { role: "player", runId: run.id });
      sessions.push(session);
      const acted = await session.act(overcome(character.id));
      if (!acted.ok) throw new Error("a turn was refused");
      expect(await mara.client.nameSavePoint(elsewhere.id, acted.turn.position, "Dawn")).toMatchObject({
        universeId: elsewhere.id,
        name: "Dawn",
      });
    });

    it("a player at the cap forgets one of hers to name another; nobody forgets hers for her", async () => {
      const [, kell, tam] = table.players as [Seat, Seat, Seat];
      // Kell is at the cap (the test above); Tam may not forget what is Kell's
      expect(await refusal(tam.client.removeSavePoint(table.universeId, "Dusk"))).toMatchObject({
        status: 404,
        code: "not_found",
      });
      expect(await refusal(table.gm.removeSavePoint(table.universeId, "Dusk"))).toMatchObject({
        status: 404,
      });
      expect(await refusal(kell.client.removeSavePoint(table.universeId, "x".repeat(81)))).toMatchObject({
        status: 400,
        code: "invalid_message",
      });
      expect(await kell.client.removeSavePoint(table.universeId, "Dusk")).toMatchObject({
        name: "Dusk",
        playerId: kell.playerId,
      });
      expect(await refusal(kell.client.removeSavePoint(table.universeId, "Dusk"))).toMatchObject({
        status: 404,
      });
      expect(await name(kell, "Night / the long watch")).toMatchObject({ name: "Night / the long watch" });
      expect(await refusal(name(kell, "Midnight"))).toMatchObject({ code: "too_many_save_points" });
      expect(await kell.client.removeSavePoint(table.universeId, "Night / the long watch")).toMatchObject({
        name: "Night / the long watch",
      });
      expect(await name(kell, "Dusk")).toMatchObject({ name: "Dusk" });
      expect(savesIn(await kell.client.bookmarks(table.universeId)).sort()).toEqual(["Dawn", "Dusk", "Noon"]);
    });

    it("parallel requests one below the cap: exactly one more is named", async () => {
      const tam = table.players[2]!;
      await name(tam, "First");
      await name(tam, "Second");
      const answers = await Promise.allSettled(
        ["a", "b", "c", "d", "e", "f"].map((text) => name(tam, `Race ${text}`)),
      );
      const named = answers.filter((answer) => answer.status === "fulfilled");
      const refused = answers
        .filter((answer): answer is PromiseRejectedResult => answer.status === "rejected")
        .map((answer) => answer.reason as { status?: number; code: string });
      expect(named).toHaveLength(1);
      expect(refused).toHaveLength(5);
      expect(refused.every((r) => r.status === 409 && r.code === "too_many_save_points")).toBe(true);
      const listed = savesIn(await tam.client.bookmarks(table.universeId));
      expect(listed).toHaveLength(CAP);
      expect(listed.filter((text) => text.startsWith("Race "))).toHaveLength(1);
      expect(savesIn(await table.gm.bookmarks(table.universeId))).toHaveLength(3 * CAP);
    });

    it("a page of bookmarks lists at most 500 save points; the pages together, and the export, list each one once", async () => {
      const gm = connect(server.url);
      const { token: gmToken } = await gm.registerPlayer("Ode's GM");
      const universe = await gm.createUniverse({ name: "The Long Ledger" });
      const ode = { client: connect(server.url), playerId: "" };
      ode.playerId = (await ode.client.registerPlayer("Ode")).player.id;
      await ode.client.acceptInvite((await gm.createInvite(universe.id)).code);
      const { character, run } = await ode.client.createCharacter(universe.id, sheet("Ode"));
      const session = await ode.client.joinUniverse(universe.id, { role: "player", runId: run.id });
      sessions.push(session);
      for (let i = 0; i < 3; i++)
        if (!(await session.act(overcome(character.id))).ok) throw new Error("refused");
      const head = (await ode.client.jump(universe.id)).head;
      // an import writes save points past this server's cap when it is given none (a database
      // whose cap was since lowered holds as many): more than a page of bookmarks holds over a few
      // positions, and more than a page of the export's reads
      const createdAt = new Date().toISOString();
      const imported = Array.from({ length: 2_100 }, (_, i) => ({
        playerId: ode.playerId,
        name: `Mark ${String(i).padStart(4, "0")}`,
        position: 1 + (i % head),
        createdAt,
      }));
      const copy = await importWithSavePoints(server, gmToken, universe.id, imported);
      expect(copy.savePoints).toEqual({ restored: imported.length, leftOut: 0 });
      const universeId = copy.universe.id;
      await ode.client.acceptInvite((await gm.createInvite(universeId)).code);
      const expected = imported.map((save) => `${save.position} ${save.name}`).sort();
      for (const reader of [ode, { client: gm }]) {
        const pages = await allPages(reader, universeId);
        expect(pages.length).toBeGreaterThan(2);
        for (const page of pages) expect(savesIn(page).length).toBeLessThanOrEqual(500);
        const listed = pages
          .flat()
          .filter((mark) => mark.kind === "save_point")
          .map((mark) => `${mark.position} ${mark.name}`);
        expect(listed.sort()).toEqual(expected);
        // within a page, one position's save points come by name
        for (const page of pages) {
          const names = savesIn(page);
          const byPosition = page.filter((mark) => mark.kind === "save_point").map((mark) => mark.position);
          for (let i = 1; i < names.length; i++)
            if (byPosition[i] === byPosition[i - 1]) expect(names[i]! > names[i - 1]!).toBe(true);
        }
      }
      const exported = await fetch(`${server.url}/api/universes/${universeId}/export`, {
        headers: { authorization: `Bearer ${gmToken}` },
      });
      const lines = (await exported.text())
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; position: number; name: string });
      const saveLines = lines.filter((line) => line.type === "save_point");
      expect(saveLines.map((line) => `${line.position} ${line.name}`)).toEqual(expected);
      expect(lines.at(-1)).toMatchObject({ type: "end", savePoints: imported.length });
      // a player at the cap by import is still refused a new one
      expect(await refusal(ode.client.nameSavePoint(universeId, head, "One more"))).toMatchObject({
        code: "too_many_save_points",
      });
    }, 60_000);
  });
}
