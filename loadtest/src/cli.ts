import { parseArgs } from "node:util";
import { findMax } from "./find-max.ts";
import { DEFAULT_OPTIONS, runLoadTest, stderrLog } from "./harness.ts";
import { describeLoad, describeSearch } from "./summary.ts";

const USAGE = `npm run loadtest -- [options]
  --universes U      universes (default ${DEFAULT_OPTIONS.universes})
  --characters N     simulated characters, spread over the universes (default ${DEFAULT_OPTIONS.characters})
  --rate R           actions per second per character (default ${DEFAULT_OPTIONS.rate})
  --duration S       measured seconds (default ${DEFAULT_OPTIONS.durationS})
  --warmup S         seconds of load before measuring (default 0)
  --spectators K     spectators per universe (default ${DEFAULT_OPTIONS.spectatorsPerUniverse})
  --gm-rate R        world events per second per GM (default ${DEFAULT_OPTIONS.gmRate})
  --url URL          a running Loom server (default: start one in this process)
  --baseline         also run the same clients against a bare Colyseus room; print ratios
  --isolate          run the servers in child processes (a core of their own) instead of beside
                     the clients in this process
  --pin              with --isolate: pin the servers to the upper half of the cores and the
                     clients to the lower half (taskset; on two cores: server 1, clients 0)
  --hog N            measure each phase a second time with N busy processes (one core each)
                     beside it; print how much act→turn p99 grew, Loom's growth ÷ the bare room's
  --find-max         search the highest actions/s with act→turn p99 within budget
    --rates a,b,…    per-character rates to step through (default 0.25,0.5,1,2,3,4,6,8,10,15,20,30)
    --step S         seconds per step (default 10)
    --budget MS      p99 budget in ms (default 50)
  --seed N           seed of the command mix (default 1)
Prints progress and a summary to stderr, and one JSON line on stdout. Exit code 1 when a turn
was lost, duplicated or reordered.`;

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return parsed;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      universes: { type: "string" },
      characters: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      spectators: { type: "string" },
      "gm-rate": { type: "string" },
      url: { type: "string" },
      baseline: { type: "boolean", default: false },
      isolate: { type: "boolean", default: false },
      pin: { type: "boolean", default: false },
      hog: { type: "string" },
      "find-max": { type: "boolean", default: false },
      rates: { type: "string" },
      step: { type: "string" },
      budget: { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const common = {
    universes: Math.max(1, Math.floor(number(values.universes, "universes", DEFAULT_OPTIONS.universes))),
    characters: Math.floor(number(values.characters, "characters", DEFAULT_OPTIONS.characters)),
    spectatorsPerUniverse: Math.floor(
      number(values.spectators, "spectators", DEFAULT_OPTIONS.spectatorsPerUniverse),
    ),
    gmRate: number(values["gm-rate"], "gm-rate", DEFAULT_OPTIONS.gmRate),
    url: values.url,
    baseline: values.baseline,
    isolate: values.isolate,
    pin: values.pin,
    jitter: DEFAULT_OPTIONS.jitter,
    seed: Math.floor(number(values.seed, "seed", DEFAULT_OPTIONS.seed)),
  };
  if (values["find-max"]) {
    const rates = (values.rates ?? "0.25,0.5,1,2,3,4,6,8,10,15,20,30")
      .split(",")
      .map((rate) => number(rate.trim(), "rates", 1));
    const report = await findMax({
      ...common,
      rates,
      stepS: number(values.step, "step", 10),
      p99BudgetMs: number(values.budget, "budget", 50),
    });
    process.stderr.write(`${describeSearch(report)}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.ok ? 0 : 1;
  }
  const report = await runLoadTest({
    ...common,
    rate: number(values.rate, "rate", DEFAULT_OPTIONS.rate),
    durationS: number(values.duration, "duration", DEFAULT_OPTIONS.durationS),
    warmupS: number(values.warmup, "warmup", 0),
    hog: Math.floor(number(values.hog, "hog", 0)),
  });
  process.stderr.write(`${describeLoad(report)}\n`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    stderrLog(`load test failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
