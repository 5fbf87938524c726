// What one narration by the OpenAI-compatible narrator costs in CPU, by thread: the rooms' thread
// (building the prompt, handing the request to the chat thread, taking its pieces back), the chat
// thread (the SDK's request and stream parsing) and the rest of the process (V8's collector
// helpers, libuv). CPU time read from /proc (Linux), so a busy machine slows the run but moves the
// figures far less than it moves latencies. The endpoint runs in a process of its own and streams
// three pieces 5 ms apart after 20 ms; 64 narrations are in flight at once.
import { readdirSync, readFileSync } from "node:fs";
import { SPECTATOR } from "@loom/shared";
import { saltMarches, turnFixture } from "@loom/shared/testing";
import { OpenAiNarrator } from "../src/narrator/openai-narrator.ts";
import { installNativeSha256 } from "../src/native-sha256.ts";
import { spawnChatProcess } from "../src/narrator/testing/spawn-chat-process.ts";

const NARRATIONS = Number(process.env.LOOM_BENCH_NARRATIONS ?? 4_000);
const IN_FLIGHT = 64;

/** CPU milliseconds used so far by each thread of this process. */
function threadCpuMs(): Map<number, number> {
  const ticks = 1_000 / 100; // USER_HZ is 100 on Linux
  const threads = new Map<number, number>();
  for (const id of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${id}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    threads.set(Number(id), (Number(fields[11]) + Number(fields[12])) * ticks);
  }
  return threads;
}

async function startEndpoint() {
  const { url, child } = await spawnChatProcess({
    delayMs: 20,
    chunks: ["The runner ", "sprints on ", "through the rain."],
    chunkDelayMs: 5,
  });
  return { url, stop: () => child.kill() };
}

export default async function narrationCpuBench(): Promise<Record<string, unknown>> {
  installNativeSha256(); // as the server does: the prompt's hash
  const endpoint = await startEndpoint();
  const narrator = new OpenAiNarrator({
    url: endpoint.url,
    model: "bench",
    apiKey: null,
    timeoutMs: 10_000,
    retries: 0,
    backoffMs: 10,
    maxTokens: 200,
    temperature: 0.7,
    promptBudget: 2_000,
  });
  try {
    await narrator.ready();
    const state = saltMarches();
    const previous = Array.from({ length: 8 }, (_, i) =>
      turnFixture({ position: i + 1, characterId: "kest", text: "Kest haggles with Old Wick" }),
    );
    const signal = new AbortController().signal;
    let failed = 0;
    const narrate = (n: number) =>
      narrator
        .narrate({
          turn: turnFixture({
            position: 9 + n,
            characterId: "mara",
            text: "Mara Vell overcomes the flooded stair",
          }),
          state,
          previous,
          viewer: SPECTATOR,
          seed: n,
          signal,
          onChunk: () => undefined,
        })
        .catch(() => void (failed += 1));
    const run = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < count) await narrate(next++);
        }),
      );
    };
    await run(IN_FLIGHT * 4); // connections open, code warm
    failed = 0;
    const before = threadCpuMs();
    const started = performance.now();
    await run(NARRATIONS);
    const wallMs = performance.now() - started;
    const after = threadCpuMs();
    const spent = [...after]
      .map(([id, ms]) => ({ id, ms: ms - (before.get(id) ?? 0) }))
      .sort((a, b) => b.ms - a.ms);
    const main = spent.find((t) => t.id === process.pid)?.ms ?? 0;
    // the chat thread is the busiest thread besides the rooms' one
    const chat = spent.find((t) => t.id !== process.pid)?.ms ?? 0;
    const total = spent.reduce((sum, t) => sum + t.ms, 0);
    const per = (ms: number) => Number((ms / NARRATIONS).toFixed(3));
    return {
      narrations: NARRATIONS,
      failed,
      wall_ms: Math.round(wallMs),
      cpu_ms_per_narration: {
        rooms_thread: per(main),
        chat_thread: per(chat),
        other_threads: per(total - main - chat),
        process: per(total),
      },
    };
  } finally {
    await narrator.close();
    endpoint.stop();
  }
}
