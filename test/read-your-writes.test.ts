import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import postgres from "postgres";
import type { TimelinePage } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { services } from "../server/src/services.ts";
import type { LoomServer } from "../server/src/app.ts";
import { modes, spawnServer, startServer, tempDir, type ChildServer } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";

/**
 * Read your writes: right after an acknowledgement, every HTTP read of the universe includes the
 * turn, while the TurnStore does not have it yet (the persist tick is ten minutes away), and what
 * a member sees of the turns not yet stored is what they see of them once stored.
 */

const PRIVATE_NOTE = "quillsplinter";
const HIDDEN_ROLL = "moonlitcorsair";
const LATER = { persistIntervalMs: 600_000, persistBatch: 100_000 };

interface Stage {
  gm: LoomClient;
  universeId: string;
  /** The players and a spectator, each reading through `reader` (their own or another process). */
  viewers: Record<"mara" | "kell" | "watcher" | "gm", LoomClient>;
  /** The position of each acknowledged turn, in order. */
  acked: number[];
  /** Mara's run, her character and the positions of her turns. */
  mara: { client: LoomClient; runId: string; characterId: string; turns: number[] };
}

/**
 * The sessions play() seated, left after each test: left joined, they would go on rejoining the
 * stopped server for the SDK's whole failover (a minute), through its last kept-alive connection.
 */
const seated: UniverseSession[] = [];
function seat(session: UniverseSession): UniverseSession {
  seated.push(session);
  return session;
}
const leaveSeated = () => Promise.all(seated.splice(0).map((session) => session.leave()));

/**
 * A public universe where Mara (whose sheet holds a private note) and Kell play and the GM rolls
 * hidden and undoes Kell's last turn, all through `playUrl`'s room; readers are made for `readUrl`.
 */
async function play(playUrl: string, readUrl: string): Promise<Stage> {
  const gm = connect(playUrl);
  await gm.registerPlayer("Game Master");
  const universe = await gm.createUniverse({ name: "The Salt Marches", visibility: "public" });
  const mara = connect(playUrl);
  await mara.registerPlayer("Mara");
  const maras = await mara.createCharacter(universe.id, sheet("Mara", { notes: `I am ${PRIVATE_NOTE}` }));
  const kell = connect(playUrl);
  await kell.registerPlayer("Kell");
  const kells = await kell.createCharacter(universe.id, sheet("Kell"));
  const watcher = connect(playUrl);
  await watcher.registerPlayer("Watcher");

  const acked: number[] = [];
  const ok = (result: { ok: boolean; turn?: { position: number } }) => {
    expect(result.ok).toBe(true);
    if (result.turn) acked.push(result.turn.position);
  };
  const gmSession = seat(await gm.joinUniverse(universe.id, { role: "gm" }));
  const kellSession = seat(await kell.joinUniverse(universe.id, { role: "player", runId: kells.run.id }));
  const maraSession = seat(await mara.joinUniverse(universe.id, { role: "player", runId: maras.run.id }));
  ok(await maraSession.act(overcome(maras.character.id, "wades through the reeds")));
  ok(
    await gmSession.act({
      kind: "action",
      action: "overcome",
      characterId: kells.character.id,
      skill: "Athletics",
      opposition: 0,
      description: `slips through the ${HIDDEN_ROLL} fog`,
      hidden: true,
    }),
  );
  ok(await kellSession.act(overcome(kells.character.id, "mends a net by the saltworks")));
  ok(await gmSession.undo());
  ok(await maraSession.act(overcome(maras.character.id, "climbs the lighthouse stair")));
  const marasTurns = [acked[0]!, acked[4]!];

  const reader = (client: LoomClient) => connect(readUrl).useToken(client.playerToken!);
  return {
    gm,
    universeId: universe.id,
    viewers: { mara: reader(mara), kell: reader(kell), watcher: reader(watcher), gm: reader(gm) },
    acked,
    mara: { client: reader(mara), runId: maras.run.id, characterId: maras.character.id, turns: marasTurns },
  };
}

/** Everything a viewer can read of the universe over HTTP, turn by turn and page by page. */
async function readAll(client: LoomClient, universeId: string, head: number): Promise<unknown> {
  const pages = async (order: "asc" | "desc", query: Record<string, string | number> = {}) => {
    const turns: unknown[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page: TimelinePage = await client.history(universeId, { order, limit: 2, cursor, ...query });
      turns.push(...page.turns);
      if (page.nextCursor === null) return turns;
      cursor = page.nextCursor;
    }
  };
  const single = [];
  for (let position = 1; position <= head; position++) single.push(await client.turn(universeId, position));
  return {
    head: (await client.getUniverse(universeId)).headPosition,
    asc: await pages("asc"),
    desc: await pages("desc"),
    single,
    searches: [
      await pages("desc", { q: "lighthouse" }),
      await pages("asc", { q: HIDDEN_ROLL }),
      await pages("desc", { q: PRIVATE_NOTE }),
      await pages("desc", { kind: "undo" }),
    ],
  };
}

function withoutNarration(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, field: unknown) =>
    key === "narration" ? undefined : field,
  );
}

/** Checks what every viewer reads right after the acks, then again once the turns are stored. */
async function expectReadsOfAcked(
  stage: Stage,
  storedHead: () => Promise<number>,
  store: () => Promise<void>,
): Promise<void> {
  const { viewers, universeId, acked } = stage;
  const head = acked[acked.length - 1]!;
  // given turns acknowledged but not stored
  expect(await storedHead()).toBeLessThan(acked[0]!);

  // then every read includes them
  const gmView = viewers.gm;
  expect((await gmView.getUniverse(universeId)).headPosition).toBe(head);
  const listed = (await gmView.listUniverses()).find((universe) => universe.id === universeId);
  expect(listed?.headPosition).toBe(head);
  const newest = await gmView.history(universeId, { limit: 1 });
  expect(newest.turns[0]?.position).toBe(head);
  const state = await gmView.stateAt(universeId);
  expect(state.position).toBe(head);
  const undone = acked[2]!; // Kell's net, undone by the GM
  expect((await gmView.turn(universeId, undone)).status).toBe("undone");
  const found = await gmView.history(universeId, { q: "lighthouse" });
  expect(found.turns.map((turn) => turn.position)).toEqual([head]);
  // the scrubber's head and turn count them too, and only a game master may scrub
  const scrubbed = await gmView.scrub(universeId, head);
  expect([scrubbed.head, scrubbed.turn?.position]).toEqual([head, head]);
  expect((await gmView.scrub(universeId, undone)).turn?.status).toBe("undone");
  await expect(viewers.kell.scrub(universeId, head)).rejects.toThrow(/game master/);

  const before: Record<string, unknown> = {};
  for (const [name, client] of Object.entries(viewers))
    before[name] = await readAll(client, universeId, head);
  const asc = (before.gm as { asc: Array<{ position: number }> }).asc.map((turn) => turn.position);
  expect(asc).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  // the secrets stay with those they belong to
  const text = (name: string) => JSON.stringify(before[name]);
  expect(text("kell")).not.toContain(PRIVATE_NOTE);
  expect(text("watcher")).not.toContain(PRIVATE_NOTE);
  expect(text("mara")).toContain(PRIVATE_NOTE);
  for (const name of ["mara", "kell", "watcher"]) expect(text(name)).not.toContain(HIDDEN_ROLL);
  expect(text("gm")).toContain(HIDDEN_ROLL);

  // when the turns are stored, each viewer reads exactly what they read before
  await store();
  expect(await storedHead()).toBe(head);
  // narration is delivered after the turn and written to the stored row; the rest is the same
  for (const [name, client] of Object.entries(viewers))
    expect(withoutNarration(await readAll(client, universeId, head)), name).toEqual(
      withoutNarration(before[name]),
    );
  // (the scrubber says how it reached the state: a walk from the one it read before, now)
  const { source: _again, ...rescrubbed } = await gmView.scrub(universeId, head);
  const { source: _first, ...firstScrub } = scrubbed;
  expect(withoutNarration(rescrubbed)).toEqual(withoutNarration(firstScrub));
  // the same state, now read from the snapshot just taken instead of replayed onto the last one
  const stored = await gmView.stateAt(universeId, head);
  expect({ ...stored, fromSnapshot: 0, replayed: 0 }).toEqual({ ...state, fromSnapshot: 0, replayed: 0 });
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`read your writes (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      // on disk, so that embedded mode keeps its live tail in the write-ahead log file
      server = await startServer(mode, { dataDir: tempDir(), ...LATER });
    });
    afterEach(leaveSeated);
    afterAll(async () => {
      await server?.shutdown();
    });

    it("every HTTP read includes each acknowledged turn before it is stored, redacted alike", async () => {
      const stage = await play(server.url, server.url);
      await expectReadsOfAcked(
        stage,
        () => services().turnStore.headPosition(stage.universeId),
        async () => void (await stage.gm.snapshot(stage.universeId)),
      );
    });

    it("a player's recap over HTTP tells their turns and the table's up to the newest acknowledged", async () => {
      const stage = await play(server.url, server.url);
      const head = stage.acked.at(-1)!;
      expect(await services().turnStore.headPosition(stage.universeId)).toBeLessThan(stage.acked[0]!);
      const recap = await stage.mara.client.recap(stage.mara.runId);
      expect(recap.head).toBe(head);
      expect(recap.lastTurns.map((turn) => turn.position)).toEqual(expect.arrayContaining(stage.mara.turns));
    });

    it("a player's character sheet over HTTP is as the newest acknowledged turn left it", async () => {
      const stage = await play(server.url, server.url);
      const { client, characterId } = stage.mara;
      const head = stage.acked.at(-1)!;
      expect(await services().turnStore.headPosition(stage.universeId)).toBeLessThan(stage.acked[0]!);
      const read = await client.character(characterId);
      expect(read.position).toBe(head);
      const jumped = await client.jump(stage.universeId);
      expect(read.sheet).toEqual((jumped.state.characters as Record<string, unknown>)[characterId]);
      expect(JSON.stringify(read.sheet)).toContain(PRIVATE_NOTE);
    });
  });
}

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

describe.skipIf(!databaseUrl || !redisUrl)("read your writes across two processes", () => {
  const children: ChildServer[] = [];
  afterEach(async () => {
    await leaveSeated();
    await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
  });

  it("a turn acknowledged by process A's room is in process B's very next HTTP read", async () => {
    const env = {
      DATABASE_URL: databaseUrl!,
      REDIS_URL: redisUrl!,
      LOOM_PERSIST_INTERVAL_MS: String(LATER.persistIntervalMs),
      LOOM_PERSIST_BATCH: String(LATER.persistBatch),
    };
    const [a, b] = await Promise.all([spawnServer(env, 2631), spawnServer(env, 2632)]);
    children.push(a, b);
    const sql = postgres(databaseUrl!, { max: 1, onnotice: () => undefined });
    try {
      const stage = await play(a.url, b.url);
      await expectReadsOfAcked(
        stage,
        async () => {
          const [row] = await sql<Array<{ head: number }>>`
            select head_position as head from universes where id = ${stage.universeId}`;
          return row!.head;
        },
        // asked of B, carried out by A's room
        async () => void (await stage.viewers.gm.snapshot(stage.universeId)),
      );
    } finally {
      await sql.end();
    }
  });
});
