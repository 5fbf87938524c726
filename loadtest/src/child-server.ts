import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { checkPinned, pinnedCommand } from "./pin.ts";

const root = resolve(import.meta.dirname, "../..");

export interface ChildServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs a server entry point (TypeScript, through tsx) in a child process and waits until
 * `readyPath` answers (with 200 when `needOk`, with anything otherwise): the server then has a core of its own instead of sharing the event loop
 * with the simulated clients. Its log is passed through to stderr.
 */
export async function spawnServer(
  entry: string,
  port: number,
  env: Record<string, string>,
  readyPath: string,
  needOk = true,
  /** Cores to pin the server's every thread to (taskset -c), e.g. `1`; unset: not pinned. */
  cpus?: string,
): Promise<ChildServer> {
  // e.g. LOADTEST_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server alone
  const nodeArgs = (process.env.LOADTEST_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // taskset execs node in its own process: the child's pid is the server's
  const [command, ...args] = pinnedCommand(
    [process.execPath, ...nodeArgs, "--import", "tsx", resolve(root, entry)],
    cpus,
  );
  const child = spawn(command!, args, {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      LOOM_LOG_LEVEL: process.env.LOOM_LOG_LEVEL ?? "warn",
      LOOM_LOG_DESTINATION: "stderr",
      ...env,
    },
    stdio: ["ignore", 2, "inherit"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited early with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}${readyPath}`);
      if (response.ok || !needOk) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${entry} did not become ready on ${url}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  checkPinned(child.pid, cpus, entry);
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
