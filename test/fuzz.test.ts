import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import fc from "fast-check";
import type { Turn } from "@loom/shared";
import type { LoomServer } from "../server/src/app.ts";
import { modes, startServer, type Mode } from "./support/server.ts";
import { setTable, type Table } from "./support/players.ts";
import { RawSeat } from "./fuzz/seat.ts";
import { frames, type FrameKind, type GeneratedFrame } from "./fuzz/frames.ts";
import { declaredRoutes } from "./fuzz/http.ts";
import type { HttpJob, HttpJobResult } from "./fuzz/http-send.ts";
import { checkUniverses } from "./fuzz/invariants.ts";

/**
 * Hostile input against a real server: generated and mutated WebSocket frames from a GM, a player
 * and a spectator, and generated bodies and query strings for every declared HTTP route. After
 * each batch the server must be alive, every universe's live and persisted state must equal a
 * replay of its timeline, and every turn that appeared must be one somebody was told about (an
 * ack, or a 2xx answer naming it): a refused input changes nothing.
 *
 * LOOM_FUZZ_FRAMES (default 100,000 with CI set, else 10,000), LOOM_FUZZ_HTTP (default 300 per
 * route) and LOOM_FUZZ_SEED set the run in embedded mode; Postgres + Redis,
 * whose request path is the same code over other stores, gets a tenth of each. Every route and
 * every message type gets its share at any of these counts; a longer run (the variables) draws
 * more of the same generators, for a soak rather than for coverage.
 * LOOM_FUZZ_VERBOSE=1 prints each route's answers by status. The summary line is `fuzz: N frames, N http requests, …`.
 */
const FULL = Boolean(process.env.CI);
const FRAMES = Number(process.env.LOOM_FUZZ_FRAMES ?? (FULL ? 100_000 : 10_000));
const HTTP_PER_ROUTE = Number(process.env.LOOM_FUZZ_HTTP ?? 300);
const SEED = Number(process.env.LOOM_FUZZ_SEED ?? 20_261_201);
const FRAME_BATCH = 5_000;
const HTTP_CONCURRENCY = 16;

const totals = { frames: 0, requests: 0, crashes: 0, changes: 0 };
const crashes: string[] = [];
/** An error that escaped every handler, by message and the place it was thrown. */
const onCrash = (error: unknown) =>
  crashes.push(
    error instanceof Error ? (error.stack ?? error.message).split("\n").slice(0, 3).join(" ") : String(error),
  );
const distinct = (list: string[]) => [...new Set(list)];

afterAll(() => {
  console.log(
    `fuzz: ${totals.frames} frames, ${totals.requests} http requests, ${totals.crashes} crashes, ${totals.changes} state changes`,
  );
});

const EVERY_SEAT_AND_KIND = (["gm", "player", "spectator"] as const)
  .flatMap((seat) =>
    (["message", "unknown-type", "damaged", "noise", "no-payload"] satisfies FrameKind[]).map(
      (kind) => `${seat} ${kind}`,
    ),
  )
  .sort();

/** Seats (re)joining and leaving start and end sessions; every other turn must have been acknowledged. */
const SEATING = new Set(["session_start", "session_end"]);
function unexplained(turns: Turn[], told: Set<string>, lostAcks: Set<number>): Turn[] {
  return turns.filter(
    (turn) =>
      turn.actor !== "system" &&
      !SEATING.has(turn.kind) &&
      !told.has(turn.id) &&
      !lostAcks.has(Number((turn.input as { seq?: unknown }).seq)),
  );
}

/** The fuzz suite in one mode. */
function fuzzSuite(mode: Mode): void {
  const share = mode.name === "embedded" ? 1 : 0.1;
  const frameCount = Math.ceil(FRAMES * share);
  const perRoute = Math.ceil(HTTP_PER_ROUTE * share);
  let server: LoomServer & { url: string };
  let table: Table;
  const seats = new Map<GeneratedFrame["seat"], RawSeat>();
  const told = new Set<string>();
  /** Accepted seqs of seats that closed: their acks may have been lost with the connection. */
  const lostAcks = new Set<number>();
  let reopened = 0;

  beforeAll(async () => {
    process.on("unhandledRejection", onCrash);
    process.on("uncaughtException", onCrash);
    // the generator shares the server's thread: on a busy machine it can hold the thread past the
    // tests' 3 s lease, and a lapsed lease answers 503 `unavailable`, which is no answer to the input
    server = await startServer(mode, { port: 2597, leaseTtlMs: 30_000 });
    table = await setTable(server.url, ["Mara", "Tobin"]);
    await table.gm.listUniverses(); // the GM's token is live
  });

  afterAll(async () => {
    for (const seat of seats.values()) seat.close();
    await server?.shutdown();
    process.off("unhandledRejection", onCrash);
    process.off("uncaughtException", onCrash);
  });

  const tokenOf = {
    gm: () => table.gm.playerToken!,
    player: () => table.players[0]!.client.playerToken!,
    spectator: () => table.players[1]!.client.playerToken!,
  };
  const joinOptions = {
    gm: () => ({ role: "gm" }),
    player: () => ({ role: "player", runId: table.players[0]!.runId }),
    spectator: () => ({ role: "spectator" }),
  };

  async function seat(which: GeneratedFrame["seat"]): Promise<RawSeat> {
    const held = seats.get(which);
    if (held && !held.closed) return held;
    if (held) {
      for (const id of held.acked) told.add(id);
      for (const seq of held.accepted) lostAcks.add(seq);
      reopened++;
    }
    const opened = await RawSeat.open(server.url, tokenOf[which](), table.universeId, joinOptions[which]());
    seats.set(which, opened);
    return opened;
  }

  async function alive(): Promise<boolean> {
    try {
      return (await fetch(`${server.url}/healthz`)).status === 200;
    } catch {
      return false;
    }
  }

  /** Turns since `heads` in every universe that none of `told` explains, and replay mismatches. */
  async function audit(heads: Map<string, number>): Promise<string[]> {
    const problems = (await checkUniverses(server, heads)).map((f) => `${f.universeId}: ${f.problem}`);
    // every universe has settled, so every ack is in
    for (const held of seats.values()) {
      for (const id of held.acked) told.add(id);
      if (held.closed) for (const seq of held.accepted) lostAcks.add(seq);
    }
    const { turnStore } = server.services;
    for (const universe of await turnStore.listUniverses({ limit: 100_000 })) {
      const before = heads.get(universe.id) ?? 0;
      const head = universe.headPosition;
      if (head <= before) continue;
      const fresh = await turnStore.turnsBetween(universe.id, before, head);
      for (const turn of unexplained(fresh, told, lostAcks))
        problems.push(
          `${universe.id}@${turn.position}: ${turn.kind} turn nobody was told about: ${JSON.stringify(turn.input).slice(0, 300)} ${describeSeq(Number((turn.input as { seq?: unknown }).seq))}`,
        );
    }
    return problems;
  }

  function describeSeq(seq: number): string {
    const all = [...seats.entries()];
    return all
      .map(
        ([name, held]) =>
          `${name}: accepted ${held.accepted.has(seq)}, refused ${held.refused.get(seq) ?? "-"}`,
      )
      .join("; ");
  }

  async function heads(): Promise<Map<string, number>> {
    const list = await server.services.turnStore.listUniverses({ limit: 100_000 });
    return new Map(list.map((u) => [u.id, u.headPosition] as const));
  }

  /** Every universe in the database equals its replay, whatever changed or not. */
  async function everyUniverse(): Promise<string[]> {
    return (await checkUniverses(server)).map((f) => `${f.universeId}: ${f.problem}`);
  }

  it(`survives ${frameCount} generated frames with every universe equal to its replay`, async () => {
    await server.services.ownership.open(table.universeId);
    const cast = {
      characterId: table.players[0]!.characterId,
      otherCharacterId: table.players[1]!.characterId,
    };
    crashes.length = 0;
    let sent = 0;
    let marker = 1_000_000_000;
    const problems: string[] = [];
    const arbitrary = frames(cast);
    const drawn = new Set<string>();
    for (let start = 0; start < frameCount; start += FRAME_BATCH) {
      const size = Math.min(FRAME_BATCH, frameCount - start);
      const generated = fc.sample(arbitrary, { seed: SEED + start, numRuns: size });
      const before = await heads();
      for (const frame of generated) {
        drawn.add(`${frame.seat} ${frame.kind}`);
        if ((await seat(frame.seat)).send(frame.bytes)) sent++;
      }
      for (const which of ["gm", "player", "spectator"] as const) await (await seat(which)).sync(marker++);
      if (!(await alive())) problems.push(`server not healthy after frame ${start + FRAME_BATCH}`);
      problems.push(...(await audit(before)));
      if (problems.length > 0) break;
    }
    if (problems.length === 0) problems.push(...(await everyUniverse()));
    totals.frames += sent;
    totals.crashes += crashes.length + problems.filter((p) => p.startsWith("server not healthy")).length;
    totals.changes += problems.filter((p) => !p.startsWith("server not healthy")).length;
    console.log(`fuzz[${mode.name}]: ${sent} frames sent (${reopened} seats reopened), seed ${SEED}`);
    expect(problems).toEqual([]);
    expect(distinct(crashes)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(frameCount * 0.95);
    // the rarest kind is one frame in 90, so from a thousand frames on every seat sends every kind
    if (frameCount >= 1_000) expect([...drawn].sort()).toEqual(EVERY_SEAT_AND_KIND);
  }, 900_000);

  it("refuses a path that does not decode or holds NUL with a coded 400", async () => {
    const token = tokenOf.gm();
    for (const path of ["/api/universes/%00", "/api/universes/%E0%A4%A/timeline", "/api/runs/a%00b/recap"]) {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect({ path, status: response.status, body: await response.json() }).toMatchObject({
        path,
        status: 400,
        body: { error: { code: "invalid_message" } },
      });
    }
  });

  it(`answers ${perRoute} generated requests per route with coded errors, never a 5xx`, async () => {
    crashes.length = 0;
    const routes = declaredRoutes();
    expect(routes.length).toBeGreaterThan(40);
    const known = {
      universes: [table.universeId],
      runs: table.players.map((p) => p.runId),
      others: [table.players[0]!.characterId, table.players[0]!.playerId],
      tokens: [tokenOf.gm(), tokenOf.player(), tokenOf.spectator()],
    };
    const broken: string[] = [];
    const changed: string[] = [];
    let sent = 0;
    const sender = new HttpSender();
    onTestFinished(() => void sender.close());
    for (const [index, route] of routes.entries()) {
      const name = `${route.method} ${route.path}`;
      const before = await heads();
      // logging out revokes what it is given: those routes get a throwaway player's token, so
      // the table's players stay signed in for the routes after them
      const given = /logout/.test(route.path) ? { ...known, tokens: [await throwaway(server.url)] } : known;
      const result = await sender.run({
        base: server.url,
        route,
        known: given,
        seed: SEED + index,
        count: perRoute,
        concurrency: HTTP_CONCURRENCY,
      });
      for (const id of result.told) told.add(id);
      broken.push(...result.failures.map((f) => `${name}: ${f}`));
      sent += result.sent;
      const t1 = performance.now();
      if (!(await alive())) broken.push(`server not healthy after ${name}`);
      changed.push(...(await audit(before)).map((p) => `${name}: ${p}`));
      if (process.env.LOOM_FUZZ_VERBOSE) {
        const answers = result.statuses.sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
        console.log(
          `${name}: generated in ${Math.round(result.generatedMs)} ms, sent in ${Math.round(result.sentMs)} ms, audit ${Math.round(performance.now() - t1)} ms, ${answers.join(" ")}`,
        );
      }
    }
    changed.push(...(await everyUniverse()).map((p) => `after every route: ${p}`));
    totals.requests += sent;
    totals.crashes += crashes.length + broken.length;
    totals.changes += changed.length;
    console.log(`fuzz[${mode.name}]: ${sent} requests over ${routes.length} routes, seed ${SEED}`);
    expect(broken.slice(0, 30)).toEqual([]);
    expect(changed).toEqual([]);
    expect(distinct(crashes)).toEqual([]);
  }, 1_800_000);
}

for (const mode of modes()) describe.skipIf(!mode.available)(`fuzz (${mode.name})`, () => fuzzSuite(mode));

async function throwaway(base: string): Promise<string> {
  const response = await fetch(`${base}/api/players`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Passer-by" }),
  });
  return ((await response.json()) as { token: string }).token;
}

/** The thread that generates and sends the HTTP batches (test/fuzz/http-worker.mjs). */
class HttpSender {
  private readonly worker = new Worker(new URL("./fuzz/http-worker.mjs", import.meta.url));

  run(job: HttpJob): Promise<HttpJobResult> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.worker.once("error", onError);
      this.worker.once("message", (reply: { ok: boolean; result?: HttpJobResult; error?: string }) => {
        this.worker.off("error", onError);
        if (reply.ok) resolve(reply.result!);
        else reject(new Error(reply.error));
      });
      this.worker.postMessage(job);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
