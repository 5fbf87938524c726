import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RejectionCode } from "@loom/shared";
import { connect, type LoomClient, type UniverseSession } from "../client-sdk/src/index.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import { tapSockets, untapSockets, wire } from "./support/socket-tap.ts";
import type { LoomServer } from "../server/src/app.ts";

/**
 * Every read surface, swept. A public universe is seeded with a word that appears nowhere else in
 * each kind of secret it can hold, and a private universe with words of its own; then every GET
 * route of the served OpenAPI document is called as each role with every id and position the
 * universes have (timelines and a search for each word, single turns, states, jumps, scrubs,
 * diffs, exports in each format and for each audience, recaps, sessions, bookmarks…), and every
 * frame each role's sockets received is searched. No word may reach a role it is not for; the
 * game master and the owners must find theirs, so the words are known to be there.
 */

/** A player's own: Mara's sheet notes, a secret a retcon gives her, a save point she names. */
const PRIVATE_NOTE = "fernwhisker";
const PRIVATE_SECRET = "glasslantern";
const SAVE_POINT = "mothcellar";
/** The game master's: notes on a character, on an NPC and in a canon fact; hidden rolls' words. */
const GM_NOTE = "saltcrypt";
const NPC_GM_NOTE = "tallowmask";
const GM_FACT = "ironorchid";
const HIDDEN_ROLL = "velvetgallows";
const HIDDEN_ADVANTAGE = "ashenkeystone";
/** Refused: a hidden roll's new aspect, which would show on the scene. */
const HIDDEN_ASPECT_NAME = "gildedsluice";
const HIDDEN_UNDONE = "brinewraith";
/** The private universe's: its name, premise and event (its members'), Orla's, its GM's. */
const OTHER_NAME = "quietlarkspur";
const OTHER_PREMISE = "dunegrotto";
const OTHER_EVENT = "copperfathom";
const OTHER_PRIVATE = "emberquill";
const OTHER_GM_NOTE = "hollowsextant";

const MARAS = [PRIVATE_NOTE, PRIVATE_SECRET, SAVE_POINT];
const GAME_MASTERS = [GM_NOTE, NPC_GM_NOTE, GM_FACT, HIDDEN_ROLL, HIDDEN_ADVANTAGE, HIDDEN_UNDONE];
const OTHER_PUBLIC = [OTHER_NAME, OTHER_PREMISE, OTHER_EVENT];
const OTHER_ALL = [...OTHER_PUBLIC, OTHER_PRIVATE, OTHER_GM_NOTE];
/** Words of commands refused: nobody reads them anywhere. */
const REFUSED = [HIDDEN_ASPECT_NAME];
const WORDS = [...MARAS, ...GAME_MASTERS, ...REFUSED, ...OTHER_ALL];

const PORTS: Record<string, number> = { embedded: 2627, "postgres+redis": 2628 };

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`secrets across every read surface (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      tapSockets();
      server = await startServer(mode, { port: PORTS[mode.name]! });
    });
    afterAll(async () => {
      untapSockets();
      await server?.shutdown();
    });

    it("no role reads a word that is not theirs on any GET route or room message", async () => {
      const seats: UniverseSession[] = [];
      try {
        const table = await playSecrets(server.url, seats);
        const leaks = await readAsEveryone(server.url, table);
        // both searched before either is judged: one run names every leak
        const heard = listenedAsEveryone(table);
        expect({ http: leaks, rooms: heard.leaks }).toEqual({ http: [], rooms: [] });
        expect(heard.missing).toEqual([]);
      } finally {
        // a seat left open would try to rejoin a server that is stopping
        for (const seat of seats) await seat.leave().catch(() => undefined);
      }
    }, 600_000);
  });
}

type Client = LoomClient & { id: string };

/** What was played, and what each role's words are. */
interface Table {
  gm: Client;
  mara: Client;
  kell: Client;
  watcher: Client;
  orla: Client;
  otherGm: Client;
  universes: string[];
  heads: Map<string, number>;
  characters: string[];
  runs: string[];
  /** The hidden roll's telling and the game master's retelling of it. */
  tellings: string[];
  seats: Record<
    "gm" | "mara" | "kell" | "branch" | "watcher" | "guest" | "otherGmWatching" | "orla" | "otherGm",
    UniverseSession
  >;
}

async function registered(url: string, name: string): Promise<Client> {
  const client = connect(url);
  const { player } = await client.registerPlayer(name);
  return Object.assign(client, { id: player.id });
}

async function acted(session: UniverseSession, command: Parameters<UniverseSession["act"]>[0]) {
  const result = await session.act(command);
  expect(result.ok, JSON.stringify(result)).toBe(true);
  return result.ok ? result.turn : (undefined as never);
}

/**
 * Given a public universe with a game master, Mara and Kell playing, a spectator, and two guests
 * who belong to a private universe of another game master: secrets of every kind, a session each
 * summed up and recapped, and a branch after the hidden rolls that Kell plays alone.
 */
async function playSecrets(url: string, opened: UniverseSession[]): Promise<Table> {
  const seat = async (client: Client, universeId: string, options: Parameters<Client["joinUniverse"]>[1]) => {
    const session = await client.joinUniverse(universeId, options);
    opened.push(session);
    return session;
  };
  const gm = await registered(url, "Game Master");
  const mara = await registered(url, "Mara");
  const kell = await registered(url, "Kell");
  const watcher = await registered(url, "Watcher");
  const orla = await registered(url, "Orla");
  const otherGm = await registered(url, "Other Master");

  const universe = await gm.createUniverse({ name: "The Salt Marches", visibility: "public" });
  const invite = await gm.createInvite(universe.id);
  await mara.acceptInvite(invite.code);
  await kell.acceptInvite(invite.code);
  const maras = await mara.createCharacter(universe.id, sheet("Mara", { notes: `I am ${PRIVATE_NOTE}` }));
  const kells = await kell.createCharacter(universe.id, sheet("Kell", { skills: { Fight: 3, Notice: 3 } }));
  const [m, k] = [maras.character.id, kells.character.id];
  const other = await otherGm.createUniverse({
    name: `The ${OTHER_NAME} Reach`,
    premise: `Under the ${OTHER_PREMISE}`,
    visibility: "private",
  });
  await orla.acceptInvite((await otherGm.createInvite(other.id)).code);
  const orlas = await orla.createCharacter(other.id, sheet("Orla", { notes: `I keep ${OTHER_PRIVATE}` }));

  const gmSession = await seat(gm, universe.id, { role: "gm" });
  const watching = await seat(watcher, universe.id, { role: "spectator" });
  const guestWatching = await seat(orla, universe.id, { role: "spectator" });
  const otherGmWatching = await seat(otherGm, universe.id, { role: "spectator" });
  let kellSession = await seat(kell, universe.id, { role: "player", runId: kells.run.id });
  let maraSession = await seat(mara, universe.id, { role: "player", runId: maras.run.id });

  // the game master's notes: on Mara, on a new NPC, inside a canon fact; and a secret for Mara
  await acted(gmSession, {
    kind: "npc",
    op: "add",
    id: "brannoc",
    name: "Old Brannoc",
    notes: "keeps the lighthouse",
    gmNotes: `sold the keys, ${NPC_GM_NOTE}`,
    skills: { Fight: 1 },
  });
  const plan = { about: "the harbour", gmNotes: `the plan is ${GM_FACT}` };
  await acted(gmSession, {
    kind: "world_event",
    text: "Fog rolls in from the sea",
    deltas: [
      { op: "set", path: `/characters/${m}/gmNotes`, value: `marked, ${GM_NOTE}` },
      {
        op: "set",
        path: "/canon/facts/the-plan",
        value: {
          id: "the-plan",
          type: "note",
          value: plan,
          confidence: 1,
          sourcePosition: 0,
          supersededAt: null,
        },
      },
    ],
  });
  const retcon = await gmSession.retcon("Mara always knew", [
    { op: "set", path: `/characters/${m}/private/secrets`, value: [`she knows ${PRIVATE_SECRET}`] },
  ]);
  expect(retcon.ok).toBe(true);

  // hidden rolls for Kell's character: one stays, one is undone; none may create an advantage or
  // invoke (at -4 even the worst roll earns one), as the scene and sheets everyone reads would tell
  // its words, its outcome or the aspect invoked; the game master has the first told again
  const secretly = { kind: "action", characterId: k, skill: "Notice", hidden: true } as const;
  const hiddenRoll = await acted(gmSession, {
    ...secretly,
    action: "overcome",
    opposition: 0,
    description: `spots the ${HIDDEN_ROLL} in the reeds`,
  });
  await acted(gmSession, {
    kind: "action",
    characterId: k,
    skill: "Notice",
    action: "create_advantage",
    opposition: -4,
    aspectName: "Reed Cover",
    description: "parts the reeds",
  });
  const reedCover = () =>
    [...gmSession.state.scene.aspects.values()].find((aspect) => aspect.name === "Reed Cover");
  await waitFor(() => (reedCover()?.freeInvokes ?? 0) > 0, 10_000, "Reed Cover on the scene");
  const cover = reedCover()!;
  const fatePoints = gmSession.state.characters.get(k)!.fatePoints;
  for (const refusedRoll of [
    { action: "create_advantage" as const, description: `marks the ${HIDDEN_ADVANTAGE} for later` },
    {
      action: "create_advantage" as const,
      description: "marks the way",
      aspectName: `The ${HIDDEN_ASPECT_NAME}`,
    },
    // an aspect the scene has already: the free invokes it gains would tell how the roll went
    {
      action: "create_advantage" as const,
      description: `marks the ${HIDDEN_ADVANTAGE}`,
      aspectName: "reed cover",
    },
    {
      action: "overcome" as const,
      description: `wades through the ${HIDDEN_ADVANTAGE}`,
      invokes: [
        { aspect: cover.id, effect: "bonus" as const, payment: "free_invoke" as const },
        { aspect: "Never forgets a road", effect: "reroll" as const, payment: "fate_point" as const },
      ],
    },
  ]) {
    const refused = await gmSession.act({ ...secretly, opposition: -4, ...refusedRoll } as const);
    expect(refused.ok || refused.rejection.code).toBe("not_allowed");
  }
  // a refusal is answered once nothing changed: a synced change would have arrived before it
  expect(reedCover()?.freeInvokes).toBe(cover.freeInvokes);
  expect(gmSession.state.characters.get(k)!.fatePoints).toBe(fatePoints);
  await acted(gmSession, {
    ...secretly,
    action: "defend",
    opposition: 0,
    description: `braces behind the ${HIDDEN_ADVANTAGE}`,
  });
  await acted(gmSession, {
    ...secretly,
    action: "attack",
    skill: "Fight",
    target: { type: "npc", id: "brannoc" },
    opposition: 0,
    description: `strikes from the ${HIDDEN_UNDONE} shadows`,
  });
  const undo = await gmSession.undo();
  expect(undo.ok && undo.turn.kind).toBe("undo");
  const retelling = await gm.retell(universe.id, hiddenRoll.position);
  const told = (await gm.turn(universe.id, hiddenRoll.position)).narration!;
  expect(told.audience).toBe("gm");
  for (const telling of [told.text, retelling.text]) expect(telling.toLowerCase()).toContain(HIDDEN_ROLL);

  // the players play on in public, Mara names a save point, and both leave: their sessions are
  // summed up; they come back to a recap ("Last time on…") and a session that opens with it
  await acted(kellSession, { kind: "custom", characterId: k, text: "Kell mends a net" });
  const maraActs = await acted(maraSession, {
    kind: "action",
    action: "overcome",
    characterId: m,
    skill: "Athletics",
    description: "wades across the channel",
  });
  await mara.nameSavePoint(universe.id, maraActs.position, `by the ${SAVE_POINT}`);
  await gm.retell(universe.id, maraActs.position);
  await kellSession.leave();
  await maraSession.leave();
  kellSession = await seat(kell, universe.id, { role: "player", runId: kells.run.id });
  maraSession = await seat(mara, universe.id, { role: "player", runId: maras.run.id });
  expect(kellSession.lastRecap).not.toBeNull();
  await acted(kellSession, { kind: "custom", characterId: k, text: "Kell looks at the fog" });

  // a player may not branch; the game master branches after the hidden rolls and hands the
  // branch to Kell, who plays it alone
  const head = (await gm.getUniverse(universe.id)).headPosition;
  const refused = await fetch(`${url}/api/universes/${universe.id}/branch`, {
    method: "POST",
    headers: { authorization: `Bearer ${kell.playerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ position: head }),
  });
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(RejectionCode.NotAllowed);
  const branch = await gm.branch(universe.id, head, "What if");
  await gm.handOver(branch.id, kell.id);
  const branchRun = await kell.startRun(branch.id, k);
  const branchSession = await seat(kell, branch.id, { role: "player", runId: branchRun.id });
  await acted(branchSession, { kind: "custom", characterId: k, text: "Kell walks the other road" });
  expect(branchSession.lastRecap).not.toBeNull();

  // the private universe: an event, a note on Orla for its game master, a session of Orla's
  const otherGmSession = await seat(otherGm, other.id, { role: "gm" });
  let orlaSession = await seat(orla, other.id, { role: "player", runId: orlas.run.id });
  await acted(otherGmSession, {
    kind: "world_event",
    text: `The ${OTHER_EVENT} opens`,
    deltas: [{ op: "set", path: `/characters/${orlas.character.id}/gmNotes`, value: OTHER_GM_NOTE }],
  });
  await acted(orlaSession, { kind: "custom", characterId: orlas.character.id, text: "Orla listens" });
  await orlaSession.leave();
  orlaSession = await seat(orla, other.id, { role: "player", runId: orlas.run.id });

  // outsiders cannot sit in the private universe, and their refusal tells them nothing of it
  for (const outsider of [kell, watcher, gm]) {
    const error: unknown = await outsider.joinUniverse(other.id, { role: "spectator" }).then(
      () => null,
      (refusal: unknown) => refusal,
    );
    expect(error).not.toBeNull();
    expect(found([{ where: "a join refusal", text: String(error) }], OTHER_ALL)).toEqual([]);
  }

  const heads = new Map<string, number>();
  for (const id of [universe.id, branch.id, other.id])
    heads.set(id, (await (id === other.id ? otherGm : gm).getUniverse(id)).headPosition);
  const seats = {
    gm: gmSession,
    mara: maraSession,
    kell: kellSession,
    branch: branchSession,
    watcher: watching,
    guest: guestWatching,
    otherGmWatching,
    orla: orlaSession,
    otherGm: otherGmSession,
  };
  await waitFor(
    () => Object.values(seats).every((s) => s.turns.at(-1)?.position === heads.get(s.room.roomId)),
    20_000,
    "every seat has its universe's head",
  );
  return {
    gm,
    mara,
    kell,
    watcher,
    orla,
    otherGm,
    universes: [universe.id, branch.id, other.id],
    heads,
    characters: [m, k, orlas.character.id],
    runs: [maras.run.id, kells.run.id, branchRun.id, orlas.run.id],
    tellings: [told.text, retelling.text],
    seats,
  };
}

/** Which of `words` the texts hold (case aside: a story capitalizes a sentence's first word). */
function found(texts: Array<{ where: string; text: string }>, words: readonly string[]): string[] {
  const hits = new Set<string>();
  for (const { where, text } of texts) {
    const lower = text.toLowerCase();
    for (const word of words) if (lower.includes(word.toLowerCase())) hits.add(`${word} in ${where}`);
  }
  return [...hits];
}

/** The words of `mustSee` that none of the texts holds. */
function unseen(texts: Array<{ text: string }>, mustSee: readonly string[]): string[] {
  const all = texts.map((t) => t.text.toLowerCase()).join("\n");
  return mustSee.filter((word) => !all.includes(word.toLowerCase()));
}

/** Every GET route as every role: the leaks, after checking that the owners found their words. */
async function readAsEveryone(url: string, table: Table): Promise<string[]> {
  const gmOnly = [...GAME_MASTERS, ...table.tellings];
  const outsider = [...gmOnly, ...MARAS, ...OTHER_ALL];
  const roles = [
    {
      name: "game master",
      client: table.gm,
      forbidden: [...REFUSED, ...OTHER_ALL],
      mustSee: [...gmOnly, ...MARAS],
    },
    { name: "Mara", client: table.mara, forbidden: [...REFUSED, ...gmOnly, ...OTHER_ALL], mustSee: MARAS },
    { name: "Kell", client: table.kell, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    { name: "spectator", client: table.watcher, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    { name: "anonymous", client: null, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    {
      name: "Orla, of the other universe",
      client: table.orla,
      forbidden: [...REFUSED, ...gmOnly, ...MARAS, OTHER_GM_NOTE],
      mustSee: [...OTHER_PUBLIC, OTHER_PRIVATE],
    },
    {
      name: "the other game master",
      client: table.otherGm,
      forbidden: [...REFUSED, ...gmOnly, ...MARAS],
      mustSee: OTHER_ALL,
    },
  ];
  const document = (await (await fetch(`${url}/api/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const list = addresses(document, table);
  const leaks: string[] = [];
  const missing: string[] = [];
  for (const role of roles) {
    const reads = await readAll(url, list, role.client?.playerToken ?? null);
    // a line a route: its addresses differ only by ids and positions
    const texts = reads.map((read) => ({ where: `GET ${read.route} (${read.status})`, text: read.text }));
    leaks.push(...found(texts, role.forbidden).map((hit) => `${role.name}: ${hit}`));
    missing.push(...unseen(texts, role.mustSee).map((word) => `${role.name}: ${word}`));
    // nor does a search tell that a word it may not read is somewhere: nothing found, no cursor
    for (const read of reads) {
      const word = /[?&]q=(\w+)/.exec(read.url)?.[1];
      if (word === undefined || read.status !== 200 || !role.forbidden.includes(word)) continue;
      if (read.text !== JSON.stringify({ turns: [], nextCursor: null }))
        leaks.push(`${role.name}: a search for ${word} matched in GET ${read.route}`);
    }
    if (role.client === table.gm) {
      // every route was called with what it takes: the game master was answered on each
      const answered = new Set(reads.filter((read) => read.status === 200).map((read) => read.route));
      expect([...new Set(reads.map((read) => read.route))].filter((r) => !answered.has(r))).toEqual([]);
      const search = reads.find((read) => read.url.endsWith(`/timeline?q=${HIDDEN_ROLL}&limit=50`));
      expect((JSON.parse(search!.text) as { turns: unknown[] }).turns.length).toBeGreaterThan(0);
    }
  }
  expect(missing).toEqual([]);
  return leaks;
}

/** Every frame each seat received: the leaks, and the words its owner did not get. */
function listenedAsEveryone(table: Table): { leaks: string[]; missing: string[] } {
  const gmOnly = [...GAME_MASTERS, ...table.tellings];
  const outsider = [...gmOnly, ...MARAS, ...OTHER_ALL];
  const { seats } = table;
  const listeners = [
    {
      name: "game master",
      seat: seats.gm,
      forbidden: [...REFUSED, ...OTHER_ALL],
      mustSee: [...gmOnly, PRIVATE_NOTE, PRIVATE_SECRET],
    },
    {
      name: "Mara",
      seat: seats.mara,
      forbidden: [...REFUSED, ...gmOnly, ...OTHER_ALL],
      mustSee: [PRIVATE_NOTE, PRIVATE_SECRET],
    },
    { name: "Kell", seat: seats.kell, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    { name: "Kell in his branch", seat: seats.branch, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    { name: "spectator", seat: seats.watcher, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    { name: "Orla watching", seat: seats.guest, forbidden: [...REFUSED, ...outsider], mustSee: [] },
    {
      name: "the other game master watching",
      seat: seats.otherGmWatching,
      forbidden: [...REFUSED, ...outsider],
      mustSee: [],
    },
    {
      name: "Orla",
      seat: seats.orla,
      forbidden: [...REFUSED, ...gmOnly, ...MARAS, OTHER_GM_NOTE],
      mustSee: [OTHER_EVENT, OTHER_PRIVATE],
    },
    {
      name: "the other game master",
      seat: seats.otherGm,
      forbidden: [...REFUSED, ...gmOnly, ...MARAS],
      mustSee: [OTHER_EVENT, OTHER_PRIVATE, OTHER_GM_NOTE],
    },
  ];
  const leaks: string[] = [];
  const missing: string[] = [];
  for (const listener of listeners) {
    const frames = [{ where: "the room", text: wire(listener.seat) }];
    leaks.push(...found(frames, listener.forbidden).map((hit) => `${listener.name}: ${hit}`));
    missing.push(...unseen(frames, listener.mustSee).map((word) => `${listener.name}: ${word}`));
  }
  return { leaks, missing };
}

/** Every address to read: each GET route of the document, with each id and position it takes. */
function addresses(
  document: { paths: Record<string, Record<string, unknown>> },
  table: Table,
): Array<{ route: string; url: string }> {
  const list: Array<{ route: string; url: string }> = [];
  const positions = (id: string, from: number) =>
    Array.from({ length: table.heads.get(id)! - from + 1 }, (_, i) => from + i);
  for (const [route, item] of Object.entries(document.paths)) {
    if (!("get" in item)) continue;
    const add = (url: string) => list.push({ route, url });
    const perUniverse = (suffixes: (id: string) => string[]) => {
      for (const id of table.universes)
        for (const suffix of suffixes(id)) add(route.replace("{id}", id) + suffix);
    };
    switch (route) {
      case "/healthz":
      case "/readyz":
      case "/metrics":
      case "/metrics.json":
      case "/api/openapi.json":
      case "/api/docs":
      case "/api/me":
      case "/api/me/progression":
        add(route);
        break;
      case "/api/universes":
        add(`${route}?limit=200`);
        break;
      case "/api/universes/{id}":
      case "/api/universes/{id}/dashboard":
      case "/api/universes/{id}/snapshots":
      case "/api/universes/{id}/invites":
      case "/api/universes/{id}/members":
      case "/api/universes/{id}/dice":
      case "/api/universes/{id}/bookmarks":
      case "/api/universes/{id}/names":
        perUniverse(() => [""]);
        break;
      case "/api/universes/{id}/timeline":
        perUniverse(() => [
          "?order=asc&limit=500",
          "?order=desc&limit=1",
          ...WORDS.flatMap((word) => [`?q=${word}&limit=50`, `?q=${word}&limit=1`]),
        ]);
        break;
      case "/api/universes/{id}/turns/{position}":
        for (const id of table.universes)
          for (const p of positions(id, 1)) add(route.replace("{id}", id).replace("{position}", String(p)));
        break;
      case "/api/universes/{id}/state":
      case "/api/universes/{id}/jump":
        perUniverse((id) => ["", ...positions(id, 0).map((p) => `?position=${p}`)]);
        break;
      case "/api/universes/{id}/scrub":
        perUniverse((id) => positions(id, 0).map((p) => `?position=${p}`));
        break;
      case "/api/universes/{id}/diff":
        perUniverse((id) => ["?from=0", `?from=${table.heads.get(id)!}&to=0`]);
        break;
      case "/api/universes/{id}/export":
        perUniverse(() =>
          ["", "ancestry=reference", "as=gm", `as=player:${table.mara.id}`].flatMap((query) => [
            query ? `?${query}` : "",
            `?format=markdown${query ? `&${query}` : ""}`,
          ]),
        );
        break;
      case "/api/characters/{id}":
        for (const character of table.characters) {
          add(route.replace("{id}", character));
          for (const id of table.universes) add(`${route.replace("{id}", character)}?universe=${id}`);
        }
        break;
      case "/api/runs/{id}":
      case "/api/runs/{id}/sessions":
      case "/api/runs/{id}/recap":
        for (const run of table.runs) add(route.replace("{id}", run));
        break;
      default:
        throw new Error(`the sweep does not know how to call GET ${route}: add it here`);
    }
  }
  return list;
}

/** Each address read with the token (none: anonymously), a few at a time. */
async function readAll(
  url: string,
  list: Array<{ route: string; url: string }>,
  token: string | null,
): Promise<Array<{ route: string; url: string; status: number; text: string }>> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const reads = [];
  for (let i = 0; i < list.length; i += 8) {
    reads.push(
      ...(await Promise.all(
        list.slice(i, i + 8).map(async ({ route, url: path }) => {
          const response = await fetch(`${url}${path}`, { headers });
          return { route, url: path, status: response.status, text: await response.text() };
        }),
      )),
    );
  }
  return reads;
}
