// The players of the narration benchmark, in a process of their own: clients run on other
// machines, so decoding every narration chunk for ten players must not share the server's event
// loop. Argument: JSON { url, players, perPlayerPerSecond, seconds, warmupSeconds }. Prints one JSON line:
// act→ack latencies (ms), per position when the first player received its first narration chunk
// (epoch milliseconds), and the CPU time this process used from the first act until the narrations
// in flight were done (ms). Prints a line `{"ready":true}` once the table is set, before acting.
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";
import { syscalls } from "./syscalls.ts";

interface Plan {
  url: string;
  players: number;
  perPlayerPerSecond: number;
  seconds: number;
  /** Acting at the same rate before the measured seconds, unmeasured: see narration.bench.ts. */
  warmupSeconds: number;
}

const plan = JSON.parse(process.argv[2] ?? "{}") as Plan;

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

async function table(): Promise<Array<{ session: UniverseSession; characterId: string }>> {
  const gm = connect(plan.url);
  await gm.registerPlayer("Bench GM");
  const universe = await gm.createUniverse({ name: "Bench", visibility: "public" });
  const players: Array<{ session: UniverseSession; characterId: string }> = [];
  for (let i = 0; i < plan.players; i++) {
    const client = connect(plan.url);
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

const interval = 1_000 / plan.perPlayerPerSecond;
let sprints = 0;

/** Every player acts at the planned rate for `seconds`; the act→ack latencies of those acknowledged. */
async function act(players: Awaited<ReturnType<typeof table>>, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1_000;
  await Promise.all(
    players.map(async (player, p) => {
      await new Promise((r) => setTimeout(r, (p * interval) / players.length));
      while (Date.now() < end) {
        const sent = performance.now();
        const result = await player.session.act({
          kind: "action",
          action: "overcome",
          characterId: player.characterId,
          skill: "Athletics",
          description: `sprint ${sprints++}`,
        });
        if (result.ok) latencies.push(performance.now() - sent);
        await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - sent))));
      }
    }),
  );
  return latencies;
}

// The warm-up plays at a table of its own, left before the measured one sits down: the server
// (its code compiled, its chat thread's too) is as warm as one that has served for a while, and
// the measured universe starts as small as it would with no warm-up at all, whatever its length.
if (plan.warmupSeconds > 0) {
  const warming = await table();
  await act(warming, plan.warmupSeconds);
  for (const player of warming) await player.session.leave();
}
const players = await table();
console.log(JSON.stringify({ ready: true }));
const cpuBefore = process.cpuUsage();
const callsBefore = syscalls();
const firstChunk = new Map<number, number>();
players[0]!.session.on("narration", (message) => {
  if (message.chunk && !firstChunk.has(message.position)) firstChunk.set(message.position, now());
});
const latencies = await act(players, plan.seconds);
// the narrations still in flight finish before their first chunks are read
await new Promise((r) => setTimeout(r, 1_000));
const cpu = process.cpuUsage(cpuBefore);
const calls = syscalls();
console.log(JSON.stringify({ done: true }));
for (const player of players) await player.session.leave();
console.log(
  JSON.stringify({
    latencies,
    firstChunk: [...firstChunk],
    cpuMs: (cpu.user + cpu.system) / 1_000,
    reads: calls.reads - callsBefore.reads,
  }),
);
process.exit(0);
