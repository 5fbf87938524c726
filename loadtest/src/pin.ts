import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";

/**
 * Which cores the server and the load generator get when pinned: the server the upper half, the
 * clients the lower half (on two cores: the server core 1, the clients core 0). Pinning keeps the
 * clients' decoding from being scheduled on the server's core, for Loom and the bare room alike;
 * the database and Redis, separate processes, stay free to run on either.
 */
export interface PinPlan {
  server: string;
  load: string;
}

/** The plan for this machine, or why it cannot pin: one core, or no `taskset` (util-linux). */
export function pinPlan(cpus = availableParallelism()): PinPlan | { problem: string } {
  if (cpus < 2) return { problem: `pinning needs two cores or more; this machine has ${cpus}` };
  if (spawnSync("taskset", ["--version"]).status !== 0)
    return { problem: "pinning needs taskset (Debian: apt-get install util-linux)" };
  const half = Math.floor(cpus / 2);
  const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  return { server: range(half, cpus - 1), load: range(0, half - 1) };
}

/** Pins every thread of this process to `cpus` (threads started later inherit it). */
export function pinSelf(cpus: string): void {
  const result = spawnSync("taskset", ["-a", "-cp", cpus, String(process.pid)], { encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`taskset could not pin the load generator: ${result.stderr.trim()}`);
}

/** Throws unless the process `pid` may run on exactly `cpus` (when the kernel says). */
export function checkPinned(pid: number | undefined, cpus: string | undefined, what: string): void {
  if (cpus === undefined || pid === undefined) return;
  const allowed = allowedCpus(pid);
  if (allowed !== null && allowed !== cpus) throw new Error(`${what} runs on CPU ${allowed}, not ${cpus}`);
}

/** The command that runs `argv` pinned to `cpus`, or `argv` itself when `cpus` is unset. */
export function pinnedCommand(argv: string[], cpus: string | undefined): string[] {
  return cpus === undefined ? argv : ["taskset", "-c", cpus, ...argv];
}

/** The cores a process may run on, as the kernel lists them (`0-1`, `1`), or null off Linux. */
export function allowedCpus(pid: number): string | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * For a run with `pin`: pins this process (the load generator) and returns the server's cores.
 * Pinning needs the servers in child processes (`isolate`) started here (no `url`).
 */
export function pinRun(options: { pin?: boolean; isolate: boolean; url?: string }): PinPlan | null {
  if (!options.pin) return null;
  if (!options.isolate || options.url)
    throw new Error("--pin needs --isolate and a server started by the run (no --url)");
  const plan = pinPlan();
  if ("problem" in plan) throw new Error(plan.problem);
  pinSelf(plan.load);
  checkPinned(process.pid, plan.load, "the load generator");
  return plan;
}
