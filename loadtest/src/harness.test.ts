import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Packr, unpack } from "msgpackr";
import WebSocket from "ws";
import { connect } from "../../client-sdk/src/index.ts";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { DEFAULT_OPTIONS, runLoadTest, type LoadReport } from "./harness.ts";
import { pinPlan, pinRun } from "./pin.ts";
import { findMax } from "./find-max.ts";
import { describeLoad, describeSearch } from "./summary.ts";
import { characterSheet } from "./commands.ts";
import { startLoomTarget, type Target } from "./targets.ts";
import { decode, encode, type Packable } from "../k6/msgpack.ts";
import {
  joinAck,
  parseFrame,
  Protocol,
  roomDataFrame,
  roomEndpoint,
  type SeatReservation,
} from "../k6/wire.ts";

/** Whether this machine can pin (two cores or more, taskset installed). */
const pinPlanHere = "problem" in pinPlan() ? null : pinPlan();

describe("load test harness", () => {
  it("searches the rate: steps within the budget up to the top rate, and a miss is measured twice", async () => {
    const base = { ...DEFAULT_OPTIONS, universes: 1, characters: 4, rates: [0.5, 1], stepS: 2 };
    const easy = await findMax({ ...base, p99BudgetMs: 60_000 }, () => undefined);
    expect(easy.loom.steps.map((s) => [s.ratePerCharacter, s.withinBudget, s.retry])).toEqual([
      [0.5, true, false],
      [1, true, false],
    ]);
    expect(easy.loom.maxRatePerCharacter).toBe(1);
    expect(easy.loom.maxActionsPerSecond).toBeGreaterThan(0);
    expect(easy.loom.integrityOk).toBe(true);
    // each step says how busy the machine was, so a knee can be told from a full machine
    for (const s of easy.loom.steps) {
      expect(s.cpu.machineBusy).toBeGreaterThan(0);
      expect(s.cpu.machineBusy).toBeLessThanOrEqual(1);
      expect(s.cpu.loadGenerator).toBeGreaterThan(0);
      expect(s.serverLoopLag?.maxMs).toBeGreaterThan(0);
    }
    expect(describeSearch(easy)).toMatch(
      /0\.5\/s → [\d.]+ acked\/s, p99 [\d.]+ ms, .*machine \d+ % busy, clients late ≤ [\d.]+ ms, server late ≤ [\d.]+ ms/,
    );

    const impossible = await findMax({ ...base, p99BudgetMs: 0 }, () => undefined);
    expect(impossible.loom.steps.map((s) => [s.ratePerCharacter, s.withinBudget, s.retry])).toEqual([
      [0.5, false, false],
      [0.5, false, true],
    ]);
    expect(impossible.loom.maxActionsPerSecond).toBe(0);
  }, 60_000);

  it("runs the small scenario against Loom and the bare room with every turn accounted for", async () => {
    const lines: string[] = [];
    const report = await runLoadTest(
      { universes: 2, characters: 10, rate: 2, durationS: 4, baseline: true },
      (line) => lines.push(line),
    );

    expect(report.loom.integrity).toMatchObject({
      ok: true,
      source: "database",
      acked: { lost: 0, duplicated: 0, moved: 0 },
    });
    expect(report.loom.window.acked).toBeGreaterThan(50);
    expect(report.loom.window.rejected).toEqual({});
    expect(report.loom.window.unanswered).toBe(0);
    // every acknowledged action is a stored turn; joins add turns of their own on top
    expect(report.loom.integrity.turnsStored).toBeGreaterThan(report.loom.integrity.ackedTurns);
    expect(report.loom.integrity.members.checked).toBe(10 + 2 + 4);
    expect(report.loom.window.latencyMs.actToTurn.count).toBe(report.loom.window.acked);
    expect(report.loom.window.latencyMs.actToPersisted.count).toBe(report.loom.window.acked);

    // the server's own account of the same window, from GET /metrics.json
    expect(report.loom.server?.acts.count).toBe(report.loom.window.acked);
    expect(report.loom.server?.acts.p99Ms).toBeGreaterThan(0);
    expect(report.loom.server?.commits.failed).toBe(0);
    // how busy each side's event loop was: the clients' own queueing is part of what they measure
    expect(report.loom.server?.loopBusy).toBeGreaterThan(0);
    expect(report.loom.server?.loopBusy).toBeLessThanOrEqual(1);
    expect(report.loom.window.clientLoopBusy).toBeGreaterThan(0);
    expect(report.loom.window.clientLoopBusy).toBeLessThanOrEqual(1);
    expect(describeLoad(report)).toMatch(
      /event loops {4}clients \d+ % busy, late p99 [\d.]+ \/ max [\d.]+ ms; server \d+ % busy, late p99 [\d.]+/,
    );
    expect(report.loom.window.clientLoopLag.maxMs).toBeGreaterThanOrEqual(
      report.loom.window.clientLoopLag.p99Ms,
    );
    expect(report.loom.server?.loopLag.maxMs).toBeGreaterThan(0);
    expect(report.bare?.server).toBeNull();
    // where the machine's CPU went; an in-process server's is the load generator's own
    expect(report.loom.window.cpu.loadGenerator).toBeGreaterThan(0);
    expect(report.loom.window.cpu.machineBusy).toBeGreaterThan(0);
    expect(report.loom.window.cpu.machineBusy).toBeLessThanOrEqual(1);
    expect(report.loom.window.cpu.server).toBeNull();
    expect(describeLoad(report)).toMatch(
      /cpu {12}machine \d+ % busy of \d+ cores; load generator [\d.]+ cores/,
    );
    expect(describeLoad(report)).toMatch(/in the server {2}act→ack p50 [\d.]+ \/ p99 [\d.]+ ms/);

    expect(report.bare?.integrity).toMatchObject({ ok: true, source: "broadcast" });
    expect(report.bare?.window.acked).toBeGreaterThan(50);
    expect(report.ratios?.throughput).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
    expect(lines.some((line) => /\[loom \d+s\] sent \d+ acked \d+ rejected 0/.test(line))).toBe(true);
  }, 40_000);

  it.runIf(pinPlanHere !== null)(
    "--pin runs each server on cores of its own, apart from the load generator's",
    async () => {
      // a child process: pinning applies to the whole load generator, not to this test's worker
      const run = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "loadtest/src/cli.ts",
          ...["--isolate", "--pin", "--baseline", "--universes", "1", "--characters", "4"],
          ...["--spectators", "0", "--rate", "2", "--duration", "2"],
        ],
        { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 90_000 },
      );
      expect(run.status, run.stderr.slice(-2000)).toBe(0);
      const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as LoadReport;
      const { server, load } = report.scenario.pinned!;
      // two disjoint, non-empty sets of cores, as the kernel reported them for each process
      const cores = (list: string) =>
        list.split(",").flatMap((part) => {
          const [from, to = from] = part.split("-").map(Number);
          return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
        });
      expect(cores(server).length).toBeGreaterThan(0);
      expect(cores(load).length).toBeGreaterThan(0);
      expect(cores(server).filter((core) => cores(load).includes(core))).toEqual([]);
      expect(report.loom.mode).toContain(`child process pinned to CPU ${server},`);
      expect(report.bare?.mode).toContain(`child process pinned to CPU ${server},`);
      expect(report.loom.integrity.ok).toBe(true);
      expect(run.stderr).toContain(`pinned: servers to CPU ${server}, the load generator to CPU ${load}`);
    },
    120_000,
  );

  it("--hog measures each phase again beside busy processes and compares the degradations", () => {
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "loadtest/src/cli.ts",
        ...["--isolate", "--baseline", "--hog", "1", "--universes", "1", "--characters", "4"],
        ...["--spectators", "0", "--rate", "2", "--duration", "2"],
      ],
      { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 90_000 },
    );
    expect(run.status, run.stderr.slice(-2000)).toBe(0);
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as LoadReport;
    for (const phase of [report.loom, report.bare!]) {
      expect(phase.contended?.hog).toBe(1);
      expect(phase.contended?.window.acked).toBeGreaterThan(0);
      expect(phase.contended?.window.latencyMs.actToTurn.count).toBe(phase.contended?.window.acked);
      // the busy process's core is the machine's, not the server's nor the load generator's
      expect(phase.contended!.window.cpu.machineBusy).toBeGreaterThan(
        phase.contended!.window.cpu.loadGenerator / 2,
      );
    }
    expect(report.loom.contended?.server?.acts.count).toBe(report.loom.contended?.window.acked);
    const { loom, bare, ratio } = report.contention!;
    expect(loom).toBeGreaterThan(0);
    expect(bare).toBeGreaterThan(0);
    expect(ratio).toBeCloseTo(loom / bare!, 2);
    expect(typeof report.targets.contentionWithinBudget).toBe("boolean");
    // both windows' turns are in the integrity check: the fleet's whole history
    expect(report.loom.integrity.ackedTurns).toBe(
      report.loom.window.acked + report.loom.contended!.window.acked,
    );
    expect(report.loom.integrity.ok).toBe(true);
    expect(run.stderr).toMatch(/\[loom\] the same load with 1 busy process beside it/);
    expect(run.stderr).toMatch(/with 1 busy core beside it: \d+ acked, act→turn p50/);
    expect(run.stderr).toMatch(
      /under contention act→turn p99 grew ×[\d.]+ \(Loom\), ×[\d.]+ \(bare\); Loom ÷ bare [\d.]+/,
    );
  }, 120_000);

  it("--pin refuses a run whose servers it would not start", () => {
    expect(() => pinRun({ pin: true, isolate: false })).toThrow(/--pin needs --isolate/);
    expect(() => pinRun({ pin: true, isolate: true, url: "http://127.0.0.1:1" })).toThrow(/no --url/);
    expect(pinRun({ pin: false, isolate: true })).toBeNull();
  });
});

describe("k6 msgpack codec", () => {
  const samples: Packable[] = [
    null,
    true,
    false,
    0,
    127,
    128,
    255,
    256,
    65_535,
    65_536,
    4_294_967_295,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32_768,
    -32_769,
    -2_147_483_648,
    1.5,
    -0.25,
    Date.now() * 1000,
    "",
    "act",
    "x".repeat(31),
    "y".repeat(32),
    "z".repeat(300),
    "w".repeat(70_000),
    "Mara à la côte — 🌊",
    new Uint8Array([1, 2, 3]),
    [],
    Array.from({ length: 20 }, (_, i) => i),
    { seq: 17, command: { kind: "custom", characterId: "c-1", text: "hums the old shanty" } },
    Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`k${i}`, i % 2 === 0 ? `v${i}` : [i, { nested: null }]]),
    ),
  ];

  it("round-trips every supported type through its own encoder and decoder", () => {
    for (const value of samples) expect(decode(encode(value))).toEqual(value);
  });

  it("reads what the server's msgpackr writes and writes what msgpackr reads", () => {
    const packr = new Packr({ useRecords: false });
    for (const value of samples) {
      expect(decode(packr.pack(value))).toEqual(value);
      expect(unpack(encode(value))).toEqual(value);
    }
    expect(decode(packr.pack({ gone: undefined, kept: 1 }))).toEqual({ gone: undefined, kept: 1 });
  });
});

describe("k6 wire helpers against a live universe room", () => {
  let target: Target;

  beforeAll(async () => {
    target = await startLoomTarget({ actionsPerSecond: 0, isolate: false });
  });
  afterAll(async () => {
    await target?.shutdown();
  });

  it("reserves a seat, answers JOIN_ROOM, sends an act frame and decodes the ack and turn", async () => {
    const gm = connect(target.url);
    await gm.registerPlayer("Wire GM");
    const universe = await gm.createUniverse({ name: "Wire test", visibility: "public" });
    const player = connect(target.url);
    const { player: me, token } = await player.registerPlayer("Wire");
    const { character, run } = await player.createCharacter(universe.id, characterSheet("Wire"));
    await fetch(`${target.url}/api/universes/${universe.id}/open`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    const response = await fetch(`${target.url}/matchmake/joinById/${universe.id}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ role: "player", runId: run.id }),
    });
    expect(response.status).toBe(200);
    const seat = (await response.json()) as SeatReservation;

    const socket = new WebSocket(roomEndpoint(target.url, seat));
    type Received = {
      seq?: number;
      position?: number;
      input?: { seq?: number };
      turn?: { position: number; id: string };
    };
    const received: { type: string | number; message: Received }[] = [];
    const joined = new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("message", (data: Buffer) => {
        const frame = parseFrame(new Uint8Array(data));
        if (frame.code === Protocol.JOIN_ROOM) {
          socket.send(joinAck());
          resolve();
        } else if ("type" in frame) received.push({ type: frame.type, message: frame.message as Received });
      });
    });
    await joined;
    const seq = 4242;
    socket.send(
      roomDataFrame("act", {
        seq,
        command: { kind: "custom", characterId: character.id, text: "tests the wire" },
      }),
    );
    const deadline = Date.now() + 5_000;
    while (!received.some((m) => m.type === "ack") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    socket.close();

    const ack = received.find((m) => m.type === "ack")?.message;
    const turn = received.find((m) => m.type === "turn" && m.message.input?.seq === seq)?.message;
    // the ack names the turn, which came in the same write just before it
    expect(ack).toEqual({ seq, duplicate: false, position: expect.any(Number) });
    expect(turn).toMatchObject({ position: ack!.position, kind: "custom", playerId: me.id });
    expect(received.findIndex((m) => m.message === turn)).toBeLessThan(
      received.findIndex((m) => m.type === "ack"),
    );
  });
});
