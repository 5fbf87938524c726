import type { EventEmitter } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchMaker } from "@colyseus/core";
import { sql } from "drizzle-orm";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import type { LoomServer } from "../server/src/app.ts";
import { rowsOf, type Db } from "../server/src/persist/rows.ts";
import { modes, startServer, TEST_LIMITS, waitFor } from "./support/server.ts";
import { overcome, sheet } from "./support/players.ts";
import { parseExposition } from "./support/prometheus-text.ts";

/**
 * A server that runs for months: players come and go, universes open and close, tokens are
 * renewed, timelines, recaps and exports are read. Round after round, what the process keeps
 * must not grow with what it has seen: the counts after each round are held to those after the
 * warm-up rounds. Counts, not bytes: vitest's threads run without `--expose-gc`, so the heap
 * after a collection cannot be read, and the maps, rooms, leases, presence entries, handles and
 * metric series that would hold the memory are counted instead.
 *
 * Each round: two universes made for it (a new game master, two new players and one of the
 * regulars each), played, left (one player right after acting, one by losing its connection, one
 * later) and closed; and one universe that stays open the whole time, its game master seated,
 * which the regulars and two of the round's new players join, play at length and leave. Between
 * rounds the server's clock moves on an hour: tokens age, rate-limit buckets refill.
 */

const PORTS: Record<string, number> = { embedded: 2668, "postgres+redis": 2669 };
const WARM_UP_ROUNDS = 2;
const ROUNDS = 4;
/** Acts of each regular in the standing universe each round. */
const STANDING_ACTS_PER_PLAYER = 10;
const HOUR_MS = 3_600_000;
/**
 * Limits as high as the other tests', refilling over half an hour: within a round nothing is
 * forgotten, and the hour the clock moves between rounds refills every bucket of the round before.
 */
const SLOW: (typeof TEST_LIMITS)["writePerIp"] = { burst: 1_000_000, perSeconds: 1_800 };

type Server = LoomServer & { url: string };

interface Player {
  client: LoomClient;
  playerId: string;
}

interface Seat extends Player {
  runId: string;
  characterId: string;
}

/**
 * The server's parts as the counts read them: their private fields, by name. A field renamed or
 * gone fails the test rather than passing unread.
 */
interface Inside {
  ownership: { openUniverses(): string[]; opening: Map<string, unknown>; handoff: Map<string, unknown> };
  metrics: { universes: Set<unknown>; persist: { read(): { failingUniverses: number } } };
  persistTick: { listeners: Set<unknown> };
  limits: Record<string, { buckets?: unknown } | null>;
  joins: { buckets: Map<string, unknown> };
  liveStore: { owner(universeId: string): Promise<unknown> };
  accountStore: { db: Db };
  turnStore: {
    ancestry: { chains: Map<string, unknown>; maxChains: number };
    search: { marks: Map<string, number>; maxMarks: number };
  };
}

/** The standing universe's room and its authority, as `Inside`. */
interface StandingRoom {
  authority: { ledger: { byClient: Map<string, unknown>; maxClients: number } };
  buckets: Map<string, unknown>;
  sessions: { endedAt: Map<string, number> };
  narration: { pending: number } | null;
}

/** Colyseus's presence (local or Redis): its subscriptions, and the local one's hashes. */
interface PresenceInside {
  subscriptions: EventEmitter;
  hash?: Record<string, unknown>;
  exists(key: string): Promise<boolean>;
}

const inside = (server: Server) => server.services as unknown as Inside;
const presence = () => matchMaker.presence as unknown as PresenceInside;

/** The players whose connection entries are still in the presence (connection-limit.ts). */
async function connectionEntries(players: Player[]): Promise<string[]> {
  const held = await Promise.all(players.map((p) => presence().exists(`loom:connections:${p.playerId}`)));
  return players.filter((_, i) => held[i]).map((p) => p.playerId);
}

/** The universes whose lease is held. */
async function leasesHeld(server: Server, universeIds: string[]): Promise<string[]> {
  const owners = await Promise.all(universeIds.map((id) => inside(server).liveStore.owner(id)));
  return universeIds.filter((_, i) => owners[i]);
}

let clockOffset = 0;
const clock = () => Date.now() + clockOffset;

async function register(url: string, name: string): Promise<Player> {
  const client = connect(url);
  const { player } = await client.registerPlayer(name);
  return { client, playerId: player.id };
}

async function seat(player: Player, universeId: string, invite: string, name: string): Promise<Seat> {
  await player.client.acceptInvite(invite);
  const { character, run } = await player.client.createCharacter(universeId, sheet(name));
  return { ...player, runId: run.id, characterId: character.id };
}

async function play(session: UniverseSession, seat: Seat, acts: number, what: string): Promise<void> {
  for (let i = 0; i < acts; i++) {
    const result = await session.act(overcome(seat.characterId, `${what} ${i}`));
    if (!result.ok) throw new Error(`act refused: ${result.rejection.code} ${result.rejection.message}`);
  }
}

/** Loses the session's connection for good: the server holds the seat for the reconnection window, then lets it go. */
function dropConnection(session: UniverseSession): void {
  const room = (
    session as unknown as {
      current: { connection: { transport: unknown }; reconnection: { enabled: boolean } };
    }
  ).current;
  room.reconnection.enabled = false;
  session.on("reconnecting", () => void session.leave());
  (room.connection.transport as { ws: { _socket: { destroy(): void } } }).ws._socket.destroy();
}

/** The leaving that a round's players do: right after acting, by losing the connection, later. */
async function leaveVariously(sessions: UniverseSession[], between: () => Promise<void>): Promise<void> {
  await sessions[0]!.leave();
  dropConnection(sessions[1]!);
  await between();
  for (const session of sessions.slice(2)) await session.leave();
}

async function readBack(url: string, gm: Player, universeId: string, seats: Seat[]): Promise<void> {
  await gm.client.history(universeId, { limit: 50 });
  for (const seated of seats) await seated.client.recap(seated.runId);
  const exported = await fetch(`${url}/api/universes/${universeId}/export`, {
    headers: { authorization: `Bearer ${gm.client.playerToken}` },
  });
  expect(exported.status).toBe(200);
  await exported.text();
}

interface World {
  server: Server;
  keeper: Player;
  keeperSession: UniverseSession;
  standingId: string;
  standingInvite: string;
  regulars: Seat[];
  /** Every player and universe made so far. */
  players: Player[];
  universes: string[];
  /** When the round under way began (the server's clock, not the test's). */
  roundStartedAt: number;
}

/** A universe made for the round, played and left: its room closes. */
async function shortLived(world: World, n: number, u: number): Promise<Player[]> {
  const { url } = world.server;
  const gm = await register(url, `Game Master ${n}.${u}`);
  const universe = await gm.client.createUniverse({
    name: `Drowned Coast ${n}.${u}`,
    premise: "A drowned coast",
  });
  const invite = (await gm.client.createInvite(universe.id)).code;
  const newcomers = [await register(url, `Alex ${n}.${u}`), await register(url, `Bea ${n}.${u}`)];
  const seats = [
    ...(await Promise.all(newcomers.map((p, i) => seat(p, universe.id, invite, `Wanderer ${n}.${u}.${i}`)))),
    await seat(world.regulars[u]!, universe.id, invite, `Regular ${n}.${u}`),
  ];
  world.universes.push(universe.id);
  world.players.push(gm, ...newcomers);
  const gmSession = await gm.client.joinUniverse(universe.id, { role: "gm" });
  const sessions = await Promise.all(
    seats.map((s) => s.client.joinUniverse(universe.id, { role: "player", runId: s.runId })),
  );
  await Promise.all(sessions.map((session, i) => play(session, seats[i]!, 2, `crossing ${n}`)));
  await leaveVariously(sessions, () => readBack(url, gm, universe.id, seats));
  await gmSession.leave();
  return newcomers;
}

/** The standing universe's round: the regulars and two newcomers join, play at length and leave. */
async function standingRound(world: World, newcomers: Player[], n: number): Promise<void> {
  const { standingId, standingInvite } = world;
  const seats = [
    ...(await Promise.all(newcomers.map((p, i) => seat(p, standingId, standingInvite, `Settler ${n}.${i}`)))),
    ...world.regulars,
  ];
  // a scene holds only so much: its boosts and aspects build up over a round's hundreds of turns
  const scene = await world.keeperSession.act({ kind: "scene", title: `Watch ${n}`, aspects: ["Salt wind"] });
  if (!scene.ok) throw new Error(`scene refused: ${scene.rejection.code} ${scene.rejection.message}`);
  const sessions = await Promise.all(
    seats.map((s) => s.client.joinUniverse(standingId, { role: "player", runId: s.runId })),
  );
  await Promise.all(sessions.map((s, i) => play(s, seats[i]!, STANDING_ACTS_PER_PLAYER, `watch ${n}`)));
  await leaveVariously(sessions, () => readBack(world.server.url, world.keeper, standingId, seats));
}

async function round(world: World, n: number): Promise<void> {
  world.roundStartedAt = Date.now();
  const newcomers = await Promise.all([shortLived(world, n, 0), shortLived(world, n, 1)]);
  await standingRound(world, newcomers[0], n);
  for (const regular of [world.keeper, ...world.regulars]) await regular.client.refreshSession();
  // every room but the standing universe's closes once its last member has left
  await waitFor(
    () =>
      world.server.services.ownership.openUniverses().length === 1 &&
      matchMaker.stats.local.roomCount === 1 &&
      matchMaker.stats.local.ccu === 1,
    30_000,
    "the round's rooms to close",
  );
  clockOffset += HOUR_MS;
}

/** Counts that must stay at their level after the warm-up. */
async function counts(world: World): Promise<Record<string, number>> {
  const { server } = world;
  const services = inside(server);
  const store = services.turnStore;
  const { subscriptions, hash } = presence();
  const standing = matchMaker.getLocalRoomById(world.standingId) as unknown as StandingRoom;
  const listed = await matchMaker.query({});
  const families = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  const found: Record<string, number> = {
    rooms: matchMaker.stats.local.roomCount,
    clients: matchMaker.stats.local.ccu,
    listedRooms: listed.filter((room) => room.processId === matchMaker.processId).length,
    openUniverses: services.ownership.openUniverses().length,
    universesOpening: services.ownership.opening.size + services.ownership.handoff.size,
    trackedUniverses: services.metrics.universes.size,
    persistTickListeners: services.persistTick.listeners.size,
    universesFailingToPersist: services.metrics.persist.read().failingUniverses,
    presenceTopics: subscriptions.eventNames().length,
    presenceListeners: subscriptions
      .eventNames()
      .reduce((sum, name) => sum + subscriptions.listenerCount(name), 0),
    connectionEntries: (await connectionEntries(world.players)).length,
    leasesHeld: (await leasesHeld(server, world.universes)).length,
    ancestryChains: store.ancestry.chains.size,
    searchMarks: store.search.marks.size,
    standingLedgerClients: standing.authority.ledger.byClient.size,
    standingActionBuckets: standing.buckets.size,
    // a round's own ends are kept for the session gap (a second here) whatever their number; one
    // from an earlier round is long past it and must be forgotten by the round's first leave
    standingSessionEndsOfEarlierRounds: [...standing.sessions.endedAt.values()].filter(
      (at) => at < world.roundStartedAt,
    ).length,
    standingNarrations: standing.narration?.pending ?? 0,
    loomSeries: [...families.values()]
      .filter((family) => family.name.startsWith("loom_"))
      .reduce((sum, family) => sum + family.samples.length, 0),
    "limit.joins": services.joins.buckets.size,
  };
  if (hash) found.localPresenceEntries = Object.keys(hash).length;
  for (const [name, limit] of Object.entries(services.limits))
    if (limit?.buckets instanceof Map) found[`limit.${name}`] = limit.buckets.size;
  const regulars = [world.keeper, ...world.regulars].map((p) => p.playerId);
  const [row] = rowsOf<{ n: number }>(
    await services.accountStore.db.execute(
      sql`select count(*)::int as n from refresh_tokens where player_id in (${sql.join(regulars, sql`, `)})`,
    ),
  );
  found.regularsRefreshTokens = Number(row!.n);
  return found;
}

/** Active handles by type: timers and sockets left behind by what closed. */
function handles(): Record<string, number> {
  const byType: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) byType[type] = (byType[type] ?? 0) + 1;
  return byType;
}

describe.each(modes())("a server that runs for months ($name)", (mode) => {
  let server: Server | undefined;
  beforeAll(async () => {
    if (!mode.available) return;
    server = await startServer(mode, {
      port: PORTS[mode.name],
      // the store on the server's thread, so that its caches can be counted
      pgliteWorker: false,
      clock,
      accessTokenTtlSeconds: 2 * 3_600,
      // renewed every round (an hour): the one renewed a round ago still lives, the one before not
      refreshTokenTtlSeconds: 90 * 60,
      // a run's session end is forgotten a second after it is past mattering (play-sessions.ts)
      sessionGapSeconds: 1,
      limits: {
        ...TEST_LIMITS,
        registerPerIp: SLOW,
        loginPerIp: SLOW,
        loginPerAccount: SLOW,
        writePerIp: SLOW,
        writePerPlayer: SLOW,
        exportPerPlayer: SLOW,
      },
      joinsPerPlayer: SLOW,
    });
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it.skipIf(!mode.available)(
    "keeps what it holds flat, round after round",
    async () => {
      const { url } = server!;
      const keeper = await register(url, "Keeper");
      const standing = await keeper.client.createUniverse({
        name: "The Long Watch",
        premise: "A tower by the sea",
      });
      const standingInvite = (await keeper.client.createInvite(standing.id)).code;
      const regularPlayers = [await register(url, "Regular Ada"), await register(url, "Regular Bo")];
      const world: World = {
        server: server!,
        keeper,
        keeperSession: await keeper.client.joinUniverse(standing.id, { role: "gm" }),
        standingId: standing.id,
        standingInvite,
        regulars: await Promise.all(
          regularPlayers.map((p, i) => seat(p, standing.id, standingInvite, `Regular ${i}`)),
        ),
        players: [keeper, ...regularPlayers],
        universes: [standing.id],
        roundStartedAt: Date.now(),
      };

      // The store keeps chains and marks for the 10,000 universes used last, far more than this
      // test makes; bounded by one round's universes, a cache that kept every one outgrows it.
      const store = inside(server!).turnStore;
      store.ancestry.maxChains = store.search.maxMarks = 3;
      // and the standing universe's ledger its 2,000 clients most recently active: each join is one
      const room = matchMaker.getLocalRoomById(standing.id) as unknown as StandingRoom;
      room.authority.ledger.maxClients = 3;
      for (let n = 0; n < WARM_UP_ROUNDS; n++) await round(world, n);
      const warm = await counts(world);
      const warmHandles = handles();

      for (let n = WARM_UP_ROUNDS; n < WARM_UP_ROUNDS + ROUNDS; n++) {
        await round(world, n);
        const now = await counts(world);
        for (const [name, count] of Object.entries(now))
          expect
            .soft(count, `${name} after round ${n} (warm-up: ${warm[name]})`)
            .toBeLessThanOrEqual(warm[name]!);
      }
      // timers and sockets come and go with the work in flight (the pool's connections, HTTP
      // keep-alive): a few either way, fewer than one more for every round. On a busy machine
      // more are still closing when the last round ends; what leaked stays, what was in flight goes.
      const bound = (type: string) => (warmHandles[type] ?? 0) + ROUNDS - 1;
      await waitFor(
        () => Object.entries(handles()).every(([type, count]) => count <= bound(type)),
        5_000,
      ).catch(() => undefined);
      for (const [type, count] of Object.entries(handles()))
        expect
          .soft(count, `${type} handles (warm-up: ${warmHandles[type] ?? 0})`)
          .toBeLessThanOrEqual(bound(type));

      await world.keeperSession.leave();
      await waitFor(
        () =>
          server!.services.ownership.openUniverses().length === 0 && matchMaker.stats.local.roomCount === 0,
        30_000,
        "the standing universe to close",
      );
      expect(await leasesHeld(server!, world.universes)).toEqual([]);
      expect(await connectionEntries(world.players)).toEqual([]);
    },
    150_000,
  );
});
