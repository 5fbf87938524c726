import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Delta } from "@loom/shared";
import { connect, type LoomClient } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { tapSockets, untapSockets, wire } from "./support/socket-tap.ts";
import { sheet } from "./support/players.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * Nobody sees what is not theirs, probed as a player or a spectator would: every byte a member's
 * socket receives (synced state, `recent`, `turn`, acks, the recap) and every HTTP payload
 * (timeline, single turns, search) is searched for the secret text itself.
 */

/** Words that appear nowhere but in the secret they belong to. */
const PRIVATE_NOTE = "quillsplinter";
const PRIVATE_BY_GM = "amberwhistle";
const GM_NOTE = "obsidianheron";
const NPC_GM_NOTE = "cinderlattice";
const HIDDEN_ROLL = "moonlitcorsair";
const ALL = [PRIVATE_NOTE, PRIVATE_BY_GM, GM_NOTE, NPC_GM_NOTE, HIDDEN_ROLL];
const GM_ONLY = [GM_NOTE, NPC_GM_NOTE, HIDDEN_ROLL];

async function get(client: LoomClient, url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${client.playerToken}` } });
  expect(response.status, url).toBe(200);
  return response.json();
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`visibility of secrets (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      tapSockets();
      server = await startServer(mode);
    });
    afterAll(async () => {
      untapSockets();
      await server?.shutdown();
    });

    it("private notes, GM notes and hidden rolls reach only those they belong to, live and over HTTP", async () => {
      // given a universe with a GM, a spectator and two players, Mara's sheet carrying a private note
      const gm = connect(server.url);
      await gm.registerPlayer("Game Master");
      const universe = await gm.createUniverse({ name: "The Salt Marches", visibility: "public" });
      const mara = connect(server.url);
      await mara.registerPlayer("Mara");
      const maras = await mara.createCharacter(universe.id, sheet("Mara", { notes: `I am ${PRIVATE_NOTE}` }));
      const kell = connect(server.url);
      await kell.registerPlayer("Kell");
      const kells = await kell.createCharacter(universe.id, sheet("Kell"));
      const watcher = connect(server.url);
      await watcher.registerPlayer("Watcher");

      const gmSession = await gm.joinUniverse(universe.id, { role: "gm" });
      const spectator = await watcher.joinUniverse(universe.id, { role: "spectator" });
      const kellSession = await kell.joinUniverse(universe.id, { role: "player", runId: kells.run.id });
      // when Mara joins: her whole sheet is the input and a delta of her character's turn
      const maraSession = await mara.joinUniverse(universe.id, { role: "player", runId: maras.run.id });
      const m = maras.character.id;

      // the GM writes secrets: GM notes on Mara and on a new NPC, and a private note for Mara
      const npc = {
        id: "brannoc",
        name: "Old Brannoc",
        relationship: "neutral",
        attitudes: {},
        notes: "keeps the lighthouse",
        gmNotes: `sold the keys, ${NPC_GM_NOTE}`,
        lastSeenPosition: null,
        stress: [false, false],
        skills: { Fight: 2 },
        takenOut: false,
      };
      const event = await gmSession.act({
        kind: "world_event",
        text: "Brannoc returns from the sea",
        deltas: [
          { op: "set", path: "/world/npcs/brannoc", value: npc },
          { op: "set", path: `/characters/${m}/gmNotes`, value: `marked, ${GM_NOTE}` },
        ],
      });
      expect(event.ok).toBe(true);
      const retconDeltas: Delta[] = [
        { op: "set", path: `/characters/${m}/private/notes`, value: PRIVATE_BY_GM },
      ];
      const retcon = await gmSession.retcon("Mara always knew", retconDeltas);
      expect(retcon.ok).toBe(true);
      // a hidden roll for Kell's character, then its undo: both say what the roll was
      const hidden = await gmSession.act({
        kind: "action",
        action: "attack",
        characterId: kells.character.id,
        skill: "Fight",
        target: { type: "npc", id: "brannoc" },
        opposition: 0,
        description: `strikes from the ${HIDDEN_ROLL} shadows`,
        hidden: true,
      });
      expect(hidden.ok).toBe(true);
      const undo = await gmSession.undo();
      expect(undo.ok && undo.turn.kind).toBe("undo");
      // and the players act on their own (acks)
      const kellActs = await kellSession.act({
        kind: "custom",
        characterId: kells.character.id,
        text: "Kell mends a net",
      });
      expect(kellActs.ok).toBe(true);
      const head = kellActs.ok ? kellActs.turn.position : 0;
      // a spectator who joins after all of it receives it as `recent`
      const late = await watcher.joinUniverse(universe.id, { role: "spectator" });

      const sessions = [gmSession, spectator, kellSession, maraSession, late];
      await waitFor(
        () => sessions.every((session) => session.turns.at(-1)?.position === head),
        10_000,
        "every member has the head",
      );
      await waitFor(
        () => maraSession.state.characters.get(m)?.privateNotes === PRIVATE_BY_GM,
        5_000,
        "patch",
      );

      // then over the room: spectators and the other player receive none of it, in any message
      for (const session of [spectator, late, kellSession]) {
        const bytes = wire(session);
        for (const secret of ALL) expect(bytes.includes(secret), secret).toBe(false);
      }
      // the owner receives her own private notes (state, her turn, the retcon written for her)
      const maraBytes = wire(maraSession);
      expect(maraBytes.includes(PRIVATE_NOTE)).toBe(true);
      expect(maraBytes.includes(PRIVATE_BY_GM)).toBe(true);
      for (const secret of GM_ONLY) expect(maraBytes.includes(secret), secret).toBe(false);
      const maraTurns = JSON.stringify(maraSession.turns);
      expect(maraTurns.includes(PRIVATE_BY_GM)).toBe(true);
      // the GM receives everything
      const gmBytes = wire(gmSession);
      for (const secret of ALL) expect(gmBytes.includes(secret), secret).toBe(true);

      // and over HTTP: timeline, each turn, and a search for each secret word
      const base = `${server.url}/api/universes/${universe.id}`;
      const httpOf = async (client: LoomClient) => {
        const payloads: unknown[] = [await get(client, `${base}/timeline?order=asc&limit=500`)];
        for (let position = 1; position <= head; position++)
          payloads.push(await get(client, `${base}/turns/${position}`));
        for (const secret of ALL) {
          for (const limit of [1, 50]) {
            const found = (await get(client, `${base}/timeline?q=${secret}&limit=${limit}`)) as {
              turns: unknown[];
              nextCursor: number | null;
            };
            payloads.push(found);
          }
        }
        return payloads;
      };
      for (const client of [kell, watcher]) {
        const payloads = await httpOf(client);
        const text = JSON.stringify(payloads);
        for (const secret of ALL) expect(text.includes(secret), secret).toBe(false);
        // nor the key each member's commands are known by, which names their connection
        expect(text.includes('"clientKey"'), "clientKey").toBe(false);
        // a search never tells a hidden turn matched: nothing found, and no cursor to page on
        for (const secret of ALL) {
          const found = (await get(client, `${base}/timeline?q=${secret}&limit=1`)) as {
            turns: unknown[];
            nextCursor: number | null;
          };
          expect(found, secret).toEqual({ turns: [], nextCursor: null });
        }
      }
      const maraHttp = JSON.stringify(await httpOf(mara));
      expect(maraHttp.includes(PRIVATE_NOTE)).toBe(true);
      expect(maraHttp.includes(PRIVATE_BY_GM)).toBe(true);
      for (const secret of GM_ONLY) expect(maraHttp.includes(secret), secret).toBe(false);
      const gmHttp = JSON.stringify(await httpOf(gm));
      for (const secret of ALL) expect(gmHttp.includes(secret), secret).toBe(true);
      expect(gmHttp.includes('"clientKey"')).toBe(true);
      const gmSearch = (await get(gm, `${base}/timeline?q=${HIDDEN_ROLL}`)) as { turns: unknown[] };
      expect(gmSearch.turns.length).toBeGreaterThan(0);

      // the recaps a player reads carry none of it either
      const recap = JSON.stringify(await get(kell, `${server.url}/api/runs/${kells.run.id}/recap`));
      for (const secret of ALL) expect(recap.includes(secret), secret).toBe(false);

      for (const session of sessions) await session.leave();
    }, 60_000);
  });
}
