import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Turn } from "@loom/shared";
import type { UniverseSession } from "../client-sdk/src/index.ts";
import { createStores, type Stores } from "../server/src/persist/index.ts";
import { importJsonl } from "../server/src/export/index.ts";
import { RETELLINGS_MAX } from "../server/src/universe/operations.ts";
import type { LoomServer } from "../server/src/app.ts";
import { modes, startServer, tempDir, waitFor, type Mode } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";

/**
 * Can a client wedge a universe? A game master is a client too (a stranger who made a public
 * universe, a co-GM), so everything here is sent as a hostile one would, through the real server:
 * raw deltas over HTTP and the room, undo chains, commands at the edge of their schemas, narration
 * requests. After each, the universe must still take turns, snapshot, jump, reopen (after a
 * restart too), and export to a file that imports again, replayed. What was found to wedge one is
 * refused with a code and changes nothing; what was tried and found harmless stays as a regression.
 */

type Answer = { status: number; body: Record<string, unknown> };

async function call(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const fact = (id: string, value: unknown, sourcePosition = 1) => ({
  id,
  type: "note",
  value,
  confidence: 1,
  sourcePosition,
  supersededAt: null,
});
const npc = (id: string) => ({
  id,
  name: "The Gull King",
  relationship: "wary",
  attitudes: {},
  notes: "",
  gmNotes: "",
  lastSeenPosition: null,
  stress: [true, false],
  skills: { Fight: 8, Will: -2 },
  takenOut: false,
});
const aspect = (id: string, name = "Thick Fog") => ({
  id,
  name,
  freeInvokes: 0,
  boost: false,
  createdBy: null,
  sourcePosition: 0,
});
const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

/** A universe's table, and the HTTP calls its game master and first player make. */
class Campaign {
  constructor(
    readonly url: string,
    readonly table: Table,
  ) {}

  get id(): string {
    return this.table.universeId;
  }
  get player() {
    return this.table.players[0]!;
  }
  gm(method: string, path: string, body?: unknown): Promise<Answer> {
    return call(this.url, this.table.gm.playerToken!, method, `/api/universes/${this.id}${path}`, body);
  }
  retcon(deltas: unknown[], note = "a correction"): Promise<Answer> {
    return this.gm("POST", "/retcon", { note, deltas });
  }
  async head(): Promise<number> {
    return (await this.gm("GET", "/dashboard")).body.head as number;
  }
  async seat(): Promise<UniverseSession> {
    return this.player.client.joinUniverse(this.id, { role: "player", runId: this.player.runId });
  }
  /** The player sits down, acts and leaves: the universe takes turns. */
  async plays(text = "walks on through the reeds"): Promise<void> {
    const seat = await this.seat();
    try {
      const acted = await seat.act({ kind: "custom", characterId: this.player.characterId, text });
      expect(acted.ok ? "acted" : acted.rejection).toBe("acted");
    } finally {
      await seat.leave();
    }
  }
}

async function seatedTable(url: string): Promise<Campaign> {
  const campaign = new Campaign(url, await setTable(url, ["Ash"]));
  // the character enters the story as its player first sits down
  await (await campaign.seat()).leave();
  return campaign;
}

/** Exports a universe as its game master and imports the file into `into`, as `loom import` does. */
async function exportImports(
  into: Stores,
  campaign: Campaign,
  work: string,
  options: { replay?: boolean } = {},
): Promise<number> {
  const response = await fetch(`${campaign.url}/api/universes/${campaign.id}/export`, {
    headers: { authorization: `Bearer ${campaign.table.gm.playerToken}` },
  });
  expect(response.status).toBe(200);
  const file = join(work, `${campaign.id}-${Date.now()}.jsonl`);
  writeFileSync(file, await response.text());
  const gm = (await campaign.table.gm.me()).player!.id;
  if (!(await into.accountStore.byId(gm)))
    await into.accountStore.createAccount({
      id: gm,
      name: "Game Master",
      login: null,
      passwordHash: null,
      createdAt: new Date(),
    });
  const imported = await importJsonl(into, file, { replay: options.replay ?? false });
  return imported.turns;
}

/** What a describe's tests share: its server, and an embedded database their exports import into. */
interface Bench {
  server: LoomServer & { url: string };
  imports: Stores;
}

/** Starts a describe's server and import database before its tests and closes both after them. */
function benchFor(start: () => Promise<LoomServer & { url: string }>): Bench {
  const bench = {} as Bench;
  beforeAll(async () => {
    bench.server = await start();
    bench.imports = await createStores({ inMemory: true });
  });
  afterAll(async () => {
    await bench.imports?.turnStore.close();
    await bench.server?.shutdown();
  });
  return bench;
}

function refusedWith(answer: Answer, status: number, code: string): void {
  expect.soft(answer, JSON.stringify(answer.body).slice(0, 300)).toMatchObject({
    status,
    body: { error: { code } },
  });
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`a game master's deltas cannot wedge a universe (${mode.name})`, () => {
    const bench = benchFor(() => startServer(mode, { port: 2633 }));
    const work = tempDir("loom-wedge-");

    it("deltas whose turn no export could import are refused, and the universe still exports and imports", async () => {
      const campaign = await seatedTable(bench.server.url);
      const long = (c: string, n: number) => c.repeat(n);
      // a fact's id that fits the path as written, not once the fact's bucket is in it
      refusedWith(
        await campaign.retcon([
          { op: "set", path: `/canon/facts/${long("x", 985)}`, value: fact(long("x", 985), 1) },
        ]),
        400,
        "invalid_value",
      );
      // a character, whatever its key: one enters the story with its player's run, never by a turn
      const sheet = (await campaign.gm("GET", "/state")).body.state as { characters: Record<string, object> };
      const ash = sheet.characters[campaign.player.characterId]!;
      refusedWith(
        await campaign.retcon([
          { op: "set", path: `/characters/${long("k", 975)}`, value: { ...ash, id: long("k", 975) } },
        ]),
        409,
        "invalid_action",
      );
      // an NPC the same way, through the room
      const gm = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      try {
        const id = long("n", 900);
        const npcEvent = await gm.act({
          kind: "world_event",
          text: "A stranger arrives",
          major: false,
          deltas: [{ op: "set", path: `/world/npcs/${id}`, value: npc(id) }],
        });
        expect.soft(npcEvent.ok ? "taken" : npcEvent.rejection.code).toBe("invalid_value");
      } finally {
        await gm.leave();
      }
      // a fact nested deeper than a recorded value may be, once a later turn records it whole
      expect(
        (await campaign.retcon([{ op: "set", path: "/canon/facts/deep", value: fact("deep", nested(12)) }]))
          .status,
      ).toBe(200);
      refusedWith(
        await campaign.retcon([
          { op: "set", path: `/canon/facts/deep/value${"/a".repeat(12)}`, value: nested(8) },
        ]),
        400,
        "invalid_value",
      );
      // flags set a hundred at a time, then all replaced at once: the turn would record them all as `prev`
      for (let k = 0; k < 21; k++) {
        const flags = Array.from({ length: 100 }, (_, i) => ({
          op: "set",
          path: `/world/flags/f${k}_${i}`,
          value: i,
        }));
        expect((await campaign.retcon(flags)).status).toBe(200);
      }
      refusedWith(
        await campaign.retcon([{ op: "set", path: "/world/flags", value: {} }]),
        400,
        "invalid_value",
      );

      // the universe plays on, opens a new scene, and its export imports
      await campaign.plays();
      const next = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      try {
        expect((await next.act({ kind: "scene", title: "The Salt Flats", aspects: ["Glare"] })).ok).toBe(
          true,
        );
      } finally {
        await next.leave();
      }
      expect(await exportImports(bench.imports, campaign, work)).toBe(await campaign.head());
    });

    it("a record whose key is not its id is refused, so the rules that find it by its id keep working", async () => {
      const campaign = await seatedTable(bench.server.url);
      // the oldest happening in the canon (the first the rules drop), kept under another key
      refusedWith(
        await campaign.retcon([
          { op: "set", path: "/canon/facts/omen", value: fact("portent", "a red sky", 0) },
        ]),
        409,
        "invalid_action",
      );
      // an NPC with stress to recover at the next scene, kept under another key
      refusedWith(
        await campaign.retcon([{ op: "set", path: "/world/npcs/gull", value: npc("gull-king") }]),
        409,
        "invalid_action",
      );
      refusedWith(
        await campaign.retcon([{ op: "set", path: "/scene/aspects/fog", value: aspect("mist") }]),
        409,
        "invalid_action",
      );
      refusedWith(
        await campaign.retcon([
          {
            op: "set",
            path: "/world/factions",
            value: { guild: { id: "league", name: "League", standing: 1 } },
          },
        ]),
        409,
        "invalid_action",
      );
      const sheet = (await campaign.gm("GET", "/state")).body.state as { characters: Record<string, object> };
      refusedWith(
        await campaign.retcon([
          {
            op: "set",
            path: "/characters/twin",
            value: { ...sheet.characters[campaign.player.characterId]!, id: "other" },
          },
        ]),
        409,
        "invalid_action",
      );

      // the canon grows past the happenings it keeps (the oldest are dropped by the turn that adds one)
      for (let k = 0; k < 3; k++) {
        const notes = Array.from({ length: 100 }, (_, i) => ({
          op: "set",
          path: `/canon/facts/note-${k}-${i}`,
          value: fact(`note-${k}-${i}`, `rumour ${i}`),
        }));
        expect((await campaign.retcon(notes)).status).toBe(200);
      }
      expect((await campaign.retcon([], "the rumours fade")).status).toBe(200);
      const gm = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      try {
        const events = await gm.act({ kind: "world_event", text: "The bells ring", major: true });
        expect(events.ok ? "taken" : events.rejection).toBe("taken");
        const next = await gm.act({ kind: "scene", title: "The Bell Tower" });
        expect(next.ok ? "taken" : next.rejection).toBe("taken");
        const fog = await gm.act({ kind: "aspect", op: "add", name: "Fog Off The Sea" });
        expect(fog.ok ? "taken" : fog.rejection).toBe("taken");
      } finally {
        await gm.leave();
      }
      await campaign.plays();
      expect(await exportImports(bench.imports, campaign, work)).toBe(await campaign.head());
    });

    it("a character or scene aspect named like a member of every object is refused, and the room keeps syncing", async () => {
      const campaign = await seatedTable(bench.server.url);
      const seat = await campaign.seat();
      const gm = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      try {
        const sheet = (await campaign.gm("GET", "/state")).body.state as {
          characters: Record<string, object>;
        };
        const ash = sheet.characters[campaign.player.characterId]!;
        // the room's synced maps index their keys in a plain object, where these find a function
        refusedWith(
          await campaign.retcon([
            { op: "set", path: "/characters/valueOf", value: { ...ash, id: "valueOf" } },
          ]),
          409,
          "invalid_action",
        );
        const retconned = await gm.retcon("a fog rolls in", [
          { op: "set", path: "/scene/aspects/toString", value: aspect("toString") },
        ]);
        expect.soft(retconned.ok ? "taken" : retconned.rejection.code).toBe("invalid_action");
        // the synced state keeps following the turns, for everyone in the room
        const acted = await seat.act({
          kind: "custom",
          characterId: campaign.player.characterId,
          text: "looks up",
        });
        expect(acted.ok).toBe(true);
        const position = acted.ok ? acted.turn.position : 0;
        const head = (session: typeof seat) => (session.state as { head?: number } | null)?.head ?? 0;
        await waitFor(() => head(seat) >= position && head(gm) >= position, 5_000, "the synced head");
      } finally {
        await seat.leave();
        await gm.leave();
      }
      // and the universe opens again, from a room that projects its whole state
      await campaign.plays();
    });

    it("fate points and free invokes past 255 reach the room's members as they are", async () => {
      const campaign = await seatedTable(bench.server.url);
      const seat = await campaign.seat();
      const characterId = campaign.player.characterId;
      try {
        const retconned = await campaign.retcon([
          { op: "set", path: `/characters/${characterId}/fatePoints`, value: 300 },
          { op: "set", path: "/scene/aspects/windfall", value: { ...aspect("windfall"), freeInvokes: 700 } },
        ]);
        expect(retconned.status).toBe(200);
        const synced = () =>
          seat.state as {
            characters?: { get(id: string): { fatePoints: number } | undefined };
            scene?: { aspects?: { get(id: string): { freeInvokes: number } | undefined } };
          } | null;
        await waitFor(
          () => synced()?.scene?.aspects?.get("windfall") !== undefined,
          5_000,
          "the aspect in the synced state",
        );
        expect(synced()?.characters?.get(characterId)?.fatePoints).toBe(300);
        expect(synced()?.scene?.aspects?.get("windfall")?.freeInvokes).toBe(700);
      } finally {
        await seat.leave();
      }
    });

    it("the scene cannot grow past what opening the next one records", async () => {
      const campaign = await seatedTable(bench.server.url);
      const gm = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      try {
        let refused: string | null = null;
        for (let i = 0; i < 300 && refused === null; i++) {
          const added = await gm.act({ kind: "aspect", op: "add", name: `Wreck ${i} ${"~".repeat(150)}` });
          if (!added.ok) refused = added.rejection.code;
        }
        expect(refused).toBe("invalid_value");
        // a player's advantage on the full scene is refused the same way (at Legendary +8 against
        // Fair +2 the roll succeeds, whatever the dice)
        const skilled = [
          { op: "set", path: `/characters/${campaign.player.characterId}/skills/Notice`, value: 8 },
        ];
        expect((await campaign.retcon(skilled)).status).toBe(200);
        const seat = await campaign.seat();
        try {
          const advantage = await seat.act({
            kind: "action",
            action: "create_advantage",
            characterId: campaign.player.characterId,
            skill: "Notice",
            target: { type: "scene" },
            aspectName: "Footing On The Wreck",
          });
          expect(advantage.ok ? "taken" : advantage.rejection.code).toBe("invalid_value");
        } finally {
          await seat.leave();
        }
        const next = await gm.act({ kind: "scene", title: "Open Water" });
        expect(next.ok ? "taken" : next.rejection).toBe("taken");
      } finally {
        await gm.leave();
      }
      expect(await exportImports(bench.imports, campaign, work)).toBe(await campaign.head());
    });

    it("a turn is told again at most so many times", async () => {
      const campaign = await seatedTable(bench.server.url);
      await campaign.plays();
      const position = await campaign.head();
      for (let i = 0; i < RETELLINGS_MAX - 1; i++)
        expect((await campaign.gm("POST", `/turns/${position}/retellings`, {})).status).toBe(201);
      // the last two asked at once: one of them is told
      const lastTwo = await Promise.all([
        campaign.gm("POST", `/turns/${position}/retellings`, {}),
        campaign.gm("POST", `/turns/${position}/retellings`, {}),
      ]);
      expect(lastTwo.map((answer) => answer.status).sort()).toEqual([201, 409]);
      refusedWith(await campaign.gm("POST", `/turns/${position}/retellings`, {}), 409, "conflict");
      const turn = (await campaign.gm("GET", `/turns/${position}`)).body.turn as Turn;
      expect(turn.narration?.retellings).toHaveLength(RETELLINGS_MAX);
      expect(await exportImports(bench.imports, campaign, work)).toBe(await campaign.head());
    });
  });

  describe.skipIf(!mode.available)(`what a client tried that leaves a universe whole (${mode.name})`, () => {
    const work = tempDir("loom-wedge-whole-");
    const dataDir = tempDir("loom-wedge-data-");
    const start = (m: Mode) => startServer(m, { port: 2634, dataDir, inMemory: false });
    const bench = benchFor(() => start(mode));

    it("odd keys, wrong types, edge values, undo chains and narration requests; then a restart, an export and a replay", async () => {
      const campaign = await seatedTable(bench.server.url);
      const character = campaign.player.characterId;

      // five aspects with names as long as a sheet's, each invoked once in one roll below
      const names = Array.from({ length: 5 }, (_, i) => `${i} ${"r".repeat(198)}`);
      // keys with "/", "~" and nothing in them, and names JavaScript objects carry
      for (const deltas of [
        [{ op: "set", path: "/world/npcs/a~1b~0c", value: npc("a/b~c") }],
        [{ op: "set", path: "/world/flags/", value: "empty" }],
        [{ op: "set", path: "/canon/facts/", value: fact("", "nameless") }],
        [{ op: "set", path: "/world/flags/hasOwnProperty", value: 1 }],
        [{ op: "set", path: "/world/flags/toString", value: "x" }],
        [{ op: "set", path: "/world/npcs/valueOf", value: npc("valueOf") }],
        [{ op: "set", path: "/canon/facts/long", value: fact("long", "~".repeat(8_000)) }],
        [{ op: "set", path: `/characters/${character}/fatePoints`, value: 250 }],
        [{ op: "set", path: `/characters/${character}/skills/Lore`, value: 8 }],
        [{ op: "set", path: `/characters/${character}/aspects`, value: names }],
        [{ op: "set", path: `/characters/${character}/stress/mental`, value: Array(100).fill(false) }],
        [{ op: "set", path: "/canon/facts//value", value: { list: Array(1_500).fill(0) } }],
      ])
        expect((await campaign.retcon(deltas)).status, JSON.stringify(deltas).slice(0, 200)).toBe(200);
      // wrong types, required members deleted, arrays out of range, the version: refused, nothing changed
      const before = await campaign.head();
      for (const deltas of [
        [{ op: "set", path: `/characters/${character}/fatePoints`, value: "many" }],
        [{ op: "set", path: `/characters/${character}/skills/Lore`, value: 9 }],
        [{ op: "unset", path: "/scene/title" }],
        [{ op: "unset", path: "/canon" }],
        [{ op: "unset", path: "/world" }],
        [{ op: "set", path: "/questBuckets", value: null }],
        [{ op: "set", path: "/version", value: 9 }],
        [{ op: "increment", path: "/scene/title", value: 1 }],
        [{ op: "set", path: `/characters/${character}/aspects/99`, value: "x" }],
        [{ op: "push", path: "/canon/retconNotes/99", value: { position: 1, note: "x" } }],
        [{ op: "remove", path: "/world/majorEvents/0" }],
        [{ op: "set", path: `/characters/${character}/stress/physical/-1`, value: true }],
        [{ op: "set", path: "/world/npcs/x/y", value: 1 }],
        [{ op: "set", path: "/world//flags", value: 1 }],
      ])
        refusedWith(await campaign.retcon(deltas), 409, "invalid_action");
      for (const deltas of [
        [{ op: "set", path: "/canon/facts/__proto__", value: fact("__proto__", 1) }],
        [{ op: "set", path: "/world/flags/constructor", value: 1 }],
        [{ op: "set", path: "/world/flags/x", value: { prototype: 1 } }],
      ])
        refusedWith(await campaign.retcon(deltas), 400, "invalid_message");
      // a sheet grown past what a recorded value may hold
      refusedWith(
        await campaign.retcon([
          { op: "set", path: `/characters/${character}/stress/physical`, value: Array(1_999).fill(true) },
        ]),
        400,
        "invalid_value",
      );
      expect(await campaign.head()).toBe(before);

      // commands at the edge of their schemas
      const gm = await campaign.table.gm.joinUniverse(campaign.id, { role: "gm" });
      const seat = await campaign.seat();
      try {
        expect(
          (await gm.act({ kind: "npc", op: "add", id: "brute", name: "B".repeat(100), skills: { Fight: 8 } }))
            .ok,
        ).toBe(true);
        const invokes = names.map((name) => ({
          aspect: name,
          effect: "bonus" as const,
          payment: "fate_point" as const,
        }));
        for (const command of [
          {
            kind: "action",
            action: "overcome",
            characterId: character,
            skill: "Lore",
            opposition: 12,
            invokes,
            description: "d".repeat(2_000),
          },
          { kind: "action", action: "overcome", characterId: character, skill: "Lore", opposition: -4 },
          {
            kind: "action",
            action: "attack",
            characterId: character,
            skill: "Lore",
            target: { type: "npc", id: "brute" },
            invokes,
          },
          {
            kind: "action",
            action: "create_advantage",
            characterId: character,
            skill: "Lore",
            target: { type: "scene" },
            opposition: -4,
            aspectName: "A".repeat(200),
          },
          { kind: "custom", characterId: character, text: "t".repeat(2_000) },
          // a skill named like a member every object has, against an NPC who rolls to oppose it
          {
            kind: "action",
            action: "overcome",
            characterId: character,
            skill: "constructor",
            target: { type: "npc", id: "brute" },
          },
        ] as const) {
          // a difficulty is the game master's to set: those rolls are the game master's
          const acted = await ("opposition" in command ? gm : seat).act(command);
          expect(acted.ok ? "taken" : JSON.stringify(acted.rejection)).toBe("taken");
        }
        for (let i = 0; i < 5; i++)
          expect(
            (
              await gm.act({
                kind: "milestone",
                characterId: character,
                level: "major",
                note: "n".repeat(2_000),
              })
            ).ok,
          ).toBe(true);
        const hidden = await gm.act({
          kind: "action",
          action: "overcome",
          characterId: character,
          skill: "Lore",
          opposition: 2,
          hidden: true,
        });
        expect(hidden.ok).toBe(true);
        const hiddenAt = hidden.ok ? hidden.turn.position : 0;

        // undo chains: an undo of an undo, a session marker, a retcon a later turn depends on
        const retconned = await campaign.retcon([{ op: "set", path: "/world/flags/tide", value: "high" }]);
        const retconAt = (retconned.body.turn as Turn).position;
        expect((await campaign.retcon([{ op: "set", path: "/world/flags/tide", value: "low" }])).status).toBe(
          200,
        );
        refusedWith(await campaign.gm("POST", "/undo", { position: retconAt }), 409, "undo_conflict");
        const undone = await campaign.gm("POST", "/undo", {});
        expect(undone.status).toBe(200);
        refusedWith(
          await campaign.gm("POST", "/undo", { position: (undone.body.turn as Turn).position }),
          409,
          "nothing_to_undo",
        );
        expect((await campaign.gm("POST", "/undo", { position: retconAt })).status).toBe(200);
        const turns = (await campaign.gm("GET", "/timeline?order=asc&limit=500")).body.turns as Turn[];
        const marker = turns.find((turn) => turn.kind === "session_start")!;
        refusedWith(await campaign.gm("POST", "/undo", { position: marker.position }), 403, "not_allowed");
        refusedWith(await campaign.gm("POST", "/undo", { position: 999_999 }), 409, "nothing_to_undo");

        // narration asked again for a hidden turn, an undone one, and positions that are none
        expect((await campaign.gm("POST", `/turns/${hiddenAt}/retellings`, {})).status).toBe(201);
        expect((await campaign.gm("POST", `/turns/${retconAt}/retellings`, {})).status).toBe(201);
        refusedWith(
          await campaign.gm("POST", `/turns/${(await campaign.head()) + 1}/retellings`, {}),
          404,
          "not_found",
        );
        refusedWith(await campaign.gm("POST", "/turns/0/retellings", {}), 400, "invalid_message");
      } finally {
        await seat.leave();
        await gm.leave();
      }

      // a run's end undone, ended again; a branch whose inherited turns are not its to undo
      const player = campaign.player.client;
      const runPath = `/api/runs/${campaign.player.runId}`;
      const token = player.playerToken!;
      expect(
        (await call(bench.server.url, token, "POST", `${runPath}/complete`, { reason: "victory" })).status,
      ).toBe(200);
      expect((await campaign.gm("POST", "/undo", {})).status).toBe(200);
      expect(
        (await call(bench.server.url, token, "POST", `${runPath}/complete`, { reason: "retired" })).status,
      ).toBe(200);
      const branchAt = await campaign.head();
      const branched = await campaign.gm("POST", "/branch", { position: branchAt });
      expect(branched.status).toBe(201);
      const branchId = (branched.body.universe as { id: string }).id;
      const onBranch = (method: string, path: string, body?: unknown) =>
        call(
          bench.server.url,
          campaign.table.gm.playerToken!,
          method,
          `/api/universes/${branchId}${path}`,
          body,
        );
      refusedWith(await onBranch("POST", "/undo", { position: branchAt }), 403, "not_allowed");
      // nothing of the branch's own to undo yet: the parent's latest turn is not what "undo" means here
      refusedWith(await onBranch("POST", "/undo", {}), 409, "nothing_to_undo");
      refusedWith(await onBranch("POST", `/turns/${branchAt}/retellings`, {}), 403, "not_allowed");
      expect((await onBranch("POST", "/retcon", { note: "elsewhere", deltas: [] })).status).toBe(200);
      expect((await onBranch("POST", "/undo", {})).status).toBe(200);

      // the universe after a restart: it opens, plays, snapshots, jumps and exports
      const head = await campaign.head();
      await bench.server.shutdown();
      bench.server = await start(mode);
      const reopened = new Campaign(bench.server.url, campaign.table);
      const again = await reopened.player.client.startRun(campaign.id, character);
      reopened.table.players[0] = { ...reopened.player, runId: again.id };
      await reopened.plays();
      expect((await reopened.gm("POST", "/snapshots")).status).toBe(201);
      for (const position of [1, Math.floor(head / 2), head, await reopened.head()])
        expect((await reopened.gm("GET", `/jump?position=${position}`)).status, `jump ${position}`).toBe(200);
      expect((await reopened.gm("POST", "/reveal", {})).status).toBe(200);
      expect(await exportImports(bench.imports, reopened, work, { replay: true })).toBe(
        await reopened.head(),
      );
    });
  });
}
