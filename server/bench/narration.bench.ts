// Whether narration stays off the critical path: act→ack latency at 200 actions/s with the
// OpenAI-compatible narrator on (a local chat-completions endpoint in a process of its own that
// answers after 300 ms) and with the template (the default) against the same load with narration
// off; and how long the first chunk of a narration takes from the endpoint writing it to a
// client receiving it. Embedded unless DATABASE_URL / REDIS_URL are set.
//
// The endpoint and the players stand for other machines (a model server, the players' devices);
// on a machine of two cores they share the server's, so they run at a lower priority
// (LOOM_BENCH_ELSEWHERE_NICE, default 10; 0 to run them as the server runs).
import { mkdtempSync, readFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type NarratorConfig } from "../src/config.ts";
import { startLoomServer } from "../src/app.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { between, loopBusy, quantile } from "../src/metrics.ts";
import { readServerMetrics } from "../../loadtest/src/server-metrics.ts";
import { percentile } from "./fixture.ts";
import { syscalls } from "./syscalls.ts";
import { spawnChatProcess, type ChatProcess } from "../src/narrator/testing/spawn-chat-process.ts";

const PLAYERS = 10;
const PER_PLAYER_PER_SECOND = 20;
/**
 * The measured seconds of each phase of a round. With ROUNDS, enough acts to judge a ratio to
 * about 10 %: fewer, and phases that are alike differ by more (a control run, LOOM_BENCH_CONTROL).
 */
const SECONDS = Number(process.env.LOOM_BENCH_SECONDS ?? 10);
/**
 * Seconds of the same play before each phase's measured SECONDS, unmeasured, at a table of its
 * own in the same server (narration-players.ts). Every phase starts a server, and with the model
 * a chat thread, afresh; a server runs for days, so its first thousands of tellings (the code of
 * the rooms and of the chat thread still being compiled by V8's helper threads, which run beside
 * the rooms' thread at its priority) are not what a table lives with. The measured table sits
 * down fresh, so its universe is as small whatever the warm-up's length. 0 measures from a cold
 * start.
 */
const WARMUP_SECONDS = Number(process.env.LOOM_BENCH_WARMUP_SECONDS ?? 15);
/** Off, template and OpenAI-compatible take turns this many times, so drift on a shared machine falls on all three. */
const ROUNDS = Number(process.env.LOOM_BENCH_ROUNDS ?? 6);
/** The niceness of the processes that stand for other machines. */
const ELSEWHERE_NICE = Number(process.env.LOOM_BENCH_ELSEWHERE_NICE ?? 10);
/**
 * 1: every phase runs with narration off, the endpoint idle (a control run: its ratios are the
 * bench's own noise, what a ratio of the real phases must be read against).
 */
const CONTROL = process.env.LOOM_BENCH_CONTROL === "1";
/** Which phases run (comma-separated off, template, openai): one alone, to profile it. */
const PHASES = new Set((process.env.LOOM_BENCH_PHASES ?? "off,template,openai").split(","));

const round = (ms: number) => Number(ms.toFixed(2));
const round3 = (ms: number) => Number(ms.toFixed(3));

interface Played {
  latencies: number[];
  firstChunk: Array<[number, number]>;
  /** The players' process's CPU time while acting and until the narrations in flight were done. */
  cpuMs: number;
  /** This process's (the server's) CPU time over the same window. */
  serverCpuMs: number;
  /** Of which its main thread's, the one that runs the rooms. */
  roomsCpuMs: number;
  /** Read system calls of the players' process over its window (a socket read each, mostly). */
  reads: number;
  /** Write system calls of this process (the server's) over the same window. */
  serverWrites: number;
}

/** CPU ms of this process's main thread so far (Linux; 0 elsewhere), in ticks of 10 ms. */
function roomsThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Lowers a process that stands for another machine to ELSEWHERE_NICE. */
function elsewhere(child: ChildProcess): void {
  if (ELSEWHERE_NICE !== 0 && child.pid !== undefined) setPriority(child.pid, ELSEWHERE_NICE);
}

/** Ten players acting for SECONDS against `url`, from a process of their own (narration-players.ts). */
async function play(url: string, onReady: () => void = () => undefined): Promise<Played> {
  const plan = {
    url,
    players: PLAYERS,
    perPlayerPerSecond: PER_PLAYER_PER_SECOND,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
  };
  const child = spawn(
    process.execPath,
    [
      // e.g. "--cpu-prof --cpu-prof-dir=…" to profile the players
      ...(process.env.LOOM_BENCH_PLAYERS_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      join(import.meta.dirname, "narration-players.ts"),
      JSON.stringify(plan),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  elsewhere(child);
  let out = "";
  // the server's CPU over the players' acting window, marked by their `ready` and `done` lines
  let cpuFrom: NodeJS.CpuUsage | null = null;
  let writesFrom = 0;
  let roomsFrom = 0;
  let roomsCpuMs = 0;
  let serverCpuMs = 0;
  let serverWrites = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (cpuFrom === null && out.includes('{"ready":true}')) {
      cpuFrom = process.cpuUsage();
      roomsFrom = roomsThreadCpuMs();
      writesFrom = syscalls().writes;
      onReady();
    }
    if (serverCpuMs === 0 && cpuFrom !== null && out.includes('{"done":true}')) {
      const used = process.cpuUsage(cpuFrom);
      serverCpuMs = (used.user + used.system) / 1_000;
      roomsCpuMs = roomsThreadCpuMs() - roomsFrom;
      serverWrites = syscalls().writes - writesFrom;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the players' process exited with ${code}`);
  const played = JSON.parse(out.trim().split("\n").at(-1)!) as Omit<
    Played,
    "serverCpuMs" | "roomsCpuMs" | "serverWrites"
  >;
  return { ...played, serverCpuMs, roomsCpuMs, serverWrites };
}

/** The position a request to the endpoint narrates, from its prompt. */
function positionAsked(content: string): number | null {
  const match = /## The turn to narrate\n- Turn (\d+),/.exec(content);
  return match ? Number(match[1]) : null;
}

type Endpoint = ChatProcess;

/** The endpoint in a child process (see chat-process.ts). */
function startEndpoint(): Promise<Endpoint> {
  return spawnChatProcess(
    { delayMs: 300, chunks: ["The runner ", "sprints on ", "through the rain."], chunkDelayMs: 5 },
    elsewhere,
  );
}

/** How many requests the endpoint has had, and what was asked from the `from`th on. */
async function endpointLog(
  endpoint: Endpoint,
  from: number,
): Promise<{ total: number; prompts: string[]; written: number[][] }> {
  const url = new URL(endpoint.side);
  url.searchParams.set("from", String(from));
  return (await (await fetch(url)).json()) as { total: number; prompts: string[]; written: number[][] };
}

async function serve(narrator: NarratorConfig, port: number) {
  const config = loadConfig(process.env, {
    port,
    actionsPerSecond: 0,
    dataDir: mkdtempSync(join(tmpdir(), "loom-bench-")),
    inMemory: false,
    narrator,
  });
  const loom = await startLoomServer(config);
  return { url: `http://127.0.0.1:${port}`, shutdown: () => loom.shutdown() };
}

interface Phase {
  latencies: number[];
  /** Each round's act→ack p50 and p99 (ms), for the ratios round by round. */
  rounds: Array<[number, number]>;
  delays: number[];
  asked: number;
  /** The server's own act→ack histogram over the phases' play (buckets of metrics.ts), added up. */
  serverActs: number[];
  /** How busy the server's main thread was during each phase's play (0–1). */
  loopBusy: number[];
  /** CPU ms of the players' process and of the server's, added up over the phase's runs. */
  playersCpuMs: number;
  serverCpuMs: number;
  roomsCpuMs: number;
  playersReads: number;
  serverWrites: number;
}

const newPhase = (): Phase => ({
  latencies: [],
  rounds: [],
  delays: [],
  asked: 0,
  serverActs: [],
  loopBusy: [],
  playersCpuMs: 0,
  serverCpuMs: 0,
  roomsCpuMs: 0,
  playersReads: 0,
  serverWrites: 0,
});

/** One phase: a server with this narrator, the players acting on it; with an endpoint, the first chunks' delays too. */
async function phase(narrator: NarratorConfig, endpoint: Endpoint | null, into: Phase): Promise<void> {
  const server = await serve(narrator, 2598 + Number(process.env.LOOM_TEST_PORT_OFFSET ?? 0));
  // what was asked and measured before the players' measured seconds (the table's setting, the warm-up)
  let asked: Promise<number> = Promise.resolve(0);
  let metrics: ReturnType<typeof readServerMetrics> = Promise.resolve(null);
  let played: Played;
  try {
    played = await play(server.url, () => {
      metrics = readServerMetrics(server.url);
      if (endpoint) asked = endpointLog(endpoint, Number.MAX_SAFE_INTEGER).then((log) => log.total);
    });
    const before = await metrics;
    const after = await readServerMetrics(server.url);
    if (before && after) {
      between(before.acts, after.acts).forEach(
        (n, i) => (into.serverActs[i] = (into.serverActs[i] ?? 0) + n),
      );
      into.loopBusy.push(loopBusy(before.eventLoop, after.eventLoop));
    }
  } finally {
    await server.shutdown();
  }
  into.latencies.push(...played.latencies);
  const sorted = played.latencies.toSorted((a, b) => a - b);
  into.rounds.push([percentile(sorted, 50), percentile(sorted, 99)]);
  into.playersCpuMs += played.cpuMs;
  into.serverCpuMs += played.serverCpuMs;
  into.roomsCpuMs += played.roomsCpuMs;
  into.playersReads += played.reads;
  into.serverWrites += played.serverWrites;
  if (!endpoint) return;
  const firstChunk = new Map(played.firstChunk);
  const from = await asked;
  const log = await endpointLog(endpoint, from);
  into.asked += log.prompts.length;
  for (let n = 0; n < log.prompts.length; n++) {
    const position = positionAsked(log.prompts[n]!);
    const written = log.written[n]?.[0];
    const received = position === null ? undefined : firstChunk.get(position);
    if (written !== undefined && received !== undefined) into.delays.push(received - written);
  }
}

/** A figure of each phase, divided by the acts it acknowledged. */
function perAct<T>(
  phases: Record<string, Phase>,
  figure: (phase: Phase, acts: number) => T,
): Record<string, T> {
  return Object.fromEntries(
    Object.entries(phases).map(([name, phase]) => [name, figure(phase, Math.max(1, phase.latencies.length))]),
  );
}

export default async function narrationBench(): Promise<Record<string, unknown>> {
  // the defaults, but for the chat thread's niceness, which LOOM_NARRATOR_THREAD_NICE may set to compare
  const base = loadConfig({ LOOM_NARRATOR_THREAD_NICE: process.env.LOOM_NARRATOR_THREAD_NICE }).narrator;
  const endpoint = await startEndpoint();
  // one server at a time: Colyseus's matchmaker is one per process
  const narrators: NarratorConfig[] = [
    { ...base, kind: "off" },
    { ...base, kind: "template" },
    {
      ...base,
      kind: "openai-compatible",
      url: endpoint.url,
      model: "bench",
      // 200 turns/s with 300 ms each: about 60 narrations in flight to keep up
      concurrency: 64,
    },
  ];
  try {
    const off = newPhase();
    const template = newPhase();
    const on = newPhase();
    const phases = [
      { name: "off", play: () => phase(narrators[0]!, null, off) },
      { name: "template", play: () => phase(narrators[CONTROL ? 0 : 1]!, null, template) },
      { name: "openai", play: () => phase(narrators[CONTROL ? 0 : 2]!, CONTROL ? null : endpoint, on) },
    ].filter(({ name }) => PHASES.has(name));
    for (let r = 0; r < ROUNDS; r++) {
      // each phase takes each place of a round in turn: a phase that always came last would carry
      // whatever grows within a round (the process's heap, the databases' work behind the writes)
      for (let i = 0; i < phases.length; i++) await phases[(i + r) % phases.length]!.play();
      process.stderr.write(`round ${r + 1}/${ROUNDS} played\n`);
    }
    for (const list of [off.latencies, template.latencies, on.latencies, on.delays])
      list.sort((a, b) => a - b);
    const p = (latencies: number[], q: number) => round(percentile(latencies, q));
    const offP50 = percentile(off.latencies, 50);
    const offP99 = percentile(off.latencies, 99);
    // a phase's ratios to narration off in each round: how far apart the rounds of one run are
    const byRound = (phase: Phase) =>
      phase.rounds.flatMap(([p50, p99], i) => {
        const [offRoundP50, offRoundP99] = off.rounds[i] ?? [];
        return offRoundP50 && offRoundP99 ? [[round(p50 / offRoundP50), round(p99 / offRoundP99)]] : [];
      });
    return {
      mode: process.env.DATABASE_URL ? "postgres+redis" : "embedded",
      rate_actions_per_s: PLAYERS * PER_PLAYER_PER_SECOND,
      endpoint_and_players_nice: ELSEWHERE_NICE,
      endpoint_latency_ms: 300,
      warmup_s: WARMUP_SECONDS,
      measured_s: SECONDS,
      control: CONTROL,
      rounds: ROUNDS,
      chat_thread_nice: base.threadNice,
      off_act_to_ack_p50_ms: p(off.latencies, 50),
      off_act_to_ack_p99_ms: p(off.latencies, 99),
      template_act_to_ack_p50_ms: p(template.latencies, 50),
      template_act_to_ack_p99_ms: p(template.latencies, 99),
      openai_act_to_ack_p50_ms: p(on.latencies, 50),
      openai_act_to_ack_p99_ms: p(on.latencies, 99),
      template_ratio_p50: round(percentile(template.latencies, 50) / offP50),
      template_ratio_p99: round(percentile(template.latencies, 99) / offP99),
      template_ratio_p50_p99_by_round: byRound(template),
      openai_ratio_p50: round(percentile(on.latencies, 50) / offP50),
      openai_ratio_p99: round(percentile(on.latencies, 99) / offP99),
      openai_ratio_p50_p99_by_round: byRound(on),
      // inside the server: from receiving an act to sending its ack, and its main thread's load
      server_act_to_ack_p50_p99_ms: {
        off: [quantile(off.serverActs, 0.5), quantile(off.serverActs, 0.99)],
        template: [quantile(template.serverActs, 0.5), quantile(template.serverActs, 0.99)],
        openai: [quantile(on.serverActs, 0.5), quantile(on.serverActs, 0.99)],
      },
      server_loop_busy: { off: off.loopBusy, template: template.loopBusy, openai: on.loopBusy },
      // CPU time per acknowledged act (ms), which a busy machine moves far less than latencies:
      // the server's process (all its threads; of which the rooms' thread, read from /proc in
      // ticks of 10 ms) and the players' process
      cpu_ms_per_act: perAct({ off, template, openai: on }, (phase, acts) => ({
        server: round3(phase.serverCpuMs / acts),
        server_rooms_thread: round3(phase.roomsCpuMs / acts),
        players: round3(phase.playersCpuMs / acts),
      })),
      // system calls per acknowledged act: the server process's writes (to members, Redis,
      // Postgres, the endpoint) and the players' process's reads
      syscalls_per_act: perAct({ off, template, openai: on }, (phase, acts) => ({
        server_writes: round(phase.serverWrites / acts),
        players_reads: round(phase.playersReads / acts),
      })),
      narrated_by_model: on.asked,
      first_chunk_delay_p50_ms: p(on.delays, 50),
      first_chunk_delay_p99_ms: p(on.delays, 99),
      samples: {
        off: off.latencies.length,
        template: template.latencies.length,
        openai: on.latencies.length,
        chunks: on.delays.length,
      },
    };
  } finally {
    endpoint.child.kill();
  }
}
