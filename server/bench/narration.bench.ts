// Whether narration stays off the critical path: act→ack latency at 200 actions/s with the
// OpenAI-compatible narrator on (a local chat-completions endpoint in a process of its own that
// answers after 300 ms) and with the template (the default) against the same load with narration
// off; and how long the first chunk of a narration takes from the endpoint writing it to a
// client receiving it. Embedded unless DATABASE_URL / REDIS_URL are set.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type NarratorConfig } from "../src/config.ts";
import { startLoomServer } from "../src/app.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";

const PLAYERS = 10;
const PER_PLAYER_PER_SECOND = 20;
const SECONDS = 5;

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (ms: number) => Number(ms.toFixed(2));

async function table(url: string) {
  const gm = connect(url);
  await gm.registerPlayer("Bench GM");
  const universe = await gm.createUniverse({ name: "Bench", visibility: "public" });
  const players: Array<{ session: UniverseSession; characterId: string }> = [];
  for (let i = 0; i < PLAYERS; i++) {
    const client = connect(url);
    await client.registerPlayer(`P${i}`);
    const { character, run } = await client.createCharacter(universe.id, {
      name: `Runner ${i}`,
      highConcept: "Courier",
      trouble: "Always late",
      skills: { Athletics: 2 },
    });
    players.push({
      session: await client.joinUniverse(universe.id, { role: "player", runId: run.id }),
      characterId: character.id,
    });
  }
  return players;
}

/** The position a request to the endpoint narrates, from its prompt. */
function positionAsked(content: string): number | null {
  const match = /## The turn to narrate\n- Turn (\d+),/.exec(content);
  return match ? Number(match[1]) : null;
}

interface Endpoint {
  url: string;
  side: string;
  child: ChildProcess;
}

/** The endpoint in a child process (see chat-process.ts). */
async function startEndpoint(): Promise<Endpoint> {
  const behaviour = {
    delayMs: 300,
    chunks: ["The runner ", "sprints on ", "through the rain."],
    chunkDelayMs: 5,
  };
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "../src/narrator/testing/chat-process.ts"),
      JSON.stringify(behaviour),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`the endpoint exited (${code})`)));
  });
  return { ...(JSON.parse(line) as { url: string; side: string }), child };
}

async function endpointLog(endpoint: Endpoint): Promise<{ prompts: string[]; written: number[][] }> {
  return (await (await fetch(endpoint.side)).json()) as { prompts: string[]; written: number[][] };
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

async function run(narrator: NarratorConfig, port: number, endpoint: Endpoint | null) {
  const config = loadConfig(process.env, {
    port,
    actionsPerSecond: 0,
    dataDir: mkdtempSync(join(tmpdir(), "loom-bench-")),
    inMemory: false,
    narrator,
  });
  const loom = await startLoomServer(config);
  try {
    const players = await table(`http://127.0.0.1:${port}`);
    // the first chunk of each position, as the first player received it
    const firstChunk = new Map<number, number>();
    players[0]!.session.on("narration", (message) => {
      if (message.chunk && !firstChunk.has(message.position)) firstChunk.set(message.position, now());
    });
    const asked = endpoint ? (await endpointLog(endpoint)).prompts.length : 0;
    const latencies: number[] = [];
    const end = Date.now() + SECONDS * 1_000;
    const interval = 1_000 / PER_PLAYER_PER_SECOND;
    await Promise.all(
      players.map(async (player, p) => {
        let i = 0;
        await new Promise((r) => setTimeout(r, (p * interval) / PLAYERS));
        while (Date.now() < end) {
          const sent = performance.now();
          const result = await player.session.act({
            kind: "action",
            action: "overcome",
            characterId: player.characterId,
            skill: "Athletics",
            opposition: 2,
            description: `sprint ${i++}`,
          });
          if (result.ok) latencies.push(performance.now() - sent);
          await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - sent))));
        }
      }),
    );
    // let the narrations in flight finish before reading their figures
    await new Promise((r) => setTimeout(r, 1_000));
    latencies.sort((a, b) => a - b);
    const delays: number[] = [];
    let told = 0;
    if (endpoint) {
      const log = await endpointLog(endpoint);
      told = log.prompts.length - asked;
      for (let n = asked; n < log.prompts.length; n++) {
        const position = positionAsked(log.prompts[n]!);
        const written = log.written[n]?.[0];
        const received = position === null ? undefined : firstChunk.get(position);
        if (written !== undefined && received !== undefined) delays.push(received - written);
      }
      delays.sort((a, b) => a - b);
    }
    for (const player of players) await player.session.leave();
    return { latencies, delays, asked: told };
  } finally {
    await loom.shutdown();
  }
}

export default async function narrationBench(): Promise<Record<string, unknown>> {
  const base = loadConfig({}).narrator;
  const endpoint = await startEndpoint();
  try {
    const off = await run({ ...base, kind: "off" }, 2598, null);
    process.stderr.write(`narrator off: p50 ${percentile(off.latencies, 50).toFixed(2)} ms\n`);
    const template = await run({ ...base, kind: "template" }, 2599, null);
    process.stderr.write(`template: p50 ${percentile(template.latencies, 50).toFixed(2)} ms\n`);
    const on = await run(
      {
        ...base,
        kind: "openai-compatible",
        url: endpoint.url,
        model: "bench",
        // 200 turns/s with 300 ms each: about 60 narrations in flight to keep up
        concurrency: 64,
      },
      2600,
      endpoint,
    );
    process.stderr.write(`openai-compatible: p50 ${percentile(on.latencies, 50).toFixed(2)} ms\n`);
    const p = (latencies: number[], q: number) => round(percentile(latencies, q));
    const offP50 = percentile(off.latencies, 50);
    const offP99 = percentile(off.latencies, 99);
    return {
      mode: process.env.DATABASE_URL ? "postgres+redis" : "embedded",
      rate_actions_per_s: PLAYERS * PER_PLAYER_PER_SECOND,
      endpoint_latency_ms: 300,
      off_act_to_ack_p50_ms: p(off.latencies, 50),
      off_act_to_ack_p99_ms: p(off.latencies, 99),
      template_act_to_ack_p50_ms: p(template.latencies, 50),
      template_act_to_ack_p99_ms: p(template.latencies, 99),
      openai_act_to_ack_p50_ms: p(on.latencies, 50),
      openai_act_to_ack_p99_ms: p(on.latencies, 99),
      template_ratio_p50: round(percentile(template.latencies, 50) / offP50),
      template_ratio_p99: round(percentile(template.latencies, 99) / offP99),
      openai_ratio_p50: round(percentile(on.latencies, 50) / offP50),
      openai_ratio_p99: round(percentile(on.latencies, 99) / offP99),
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
