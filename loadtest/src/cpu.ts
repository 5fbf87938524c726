import { readFileSync } from "node:fs";
import { cpus } from "node:os";

/** CPU time spent so far: by the whole machine, this process and (on Linux) a server process. */
export interface CpuReading {
  at: number;
  machine: { busyMs: number; totalMs: number };
  selfMs: number;
  serverMs: number | null;
}

/**
 * Where the machine's CPU went over a window, in cores (1 = one core's whole time). On one
 * machine the load generator and the server share the cores; when `machineBusy` nears 1 every
 * latency includes waiting for a core, whichever side the wait falls on.
 */
export interface CpuWindow {
  cores: number;
  /** The whole machine's busy share (0–1), every process counted. */
  machineBusy: number;
  /** This process: the simulated clients (and the server, when it runs in this process). */
  loadGenerator: number;
  /** The server's process, every thread (null: it runs in this process, elsewhere, or not on Linux). */
  server: number | null;
}

/** Linux counts process CPU in clock ticks, 100 a second on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

/** Whether a process of that id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** utime + stime of a process, every thread, from /proc; null where there is no /proc. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces; the fields after it are space-separated
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

export function readCpu(serverPid: number | null): CpuReading {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times } of cpus()) {
    const busy = times.user + times.nice + times.sys + times.irq;
    busyMs += busy;
    totalMs += busy + times.idle;
  }
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    machine: { busyMs, totalMs },
    selfMs: (self.user + self.system) / 1000,
    serverMs: serverPid === null ? null : processCpuMs(serverPid),
  };
}

export function cpuBetween(before: CpuReading, after: CpuReading): CpuWindow {
  const elapsedMs = after.at - before.at;
  const cores = cpus().length;
  const perCore = (ms: number) => (elapsedMs > 0 ? round2(ms / elapsedMs) : 0);
  const machineTotal = after.machine.totalMs - before.machine.totalMs;
  return {
    cores,
    machineBusy: machineTotal > 0 ? round2((after.machine.busyMs - before.machine.busyMs) / machineTotal) : 0,
    loadGenerator: perCore(after.selfMs - before.selfMs),
    server:
      before.serverMs === null || after.serverMs === null ? null : perCore(after.serverMs - before.serverMs),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
