import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/**
 * Other work on the machine, made on purpose: processes that each keep one core busy, to see how
 * a server's latency degrades when it has to wait for a core (issue 19: Loom must degrade no more
 * than the bare room does). Each one stops by itself after `maxMs`, so a load test that dies
 * leaves nothing spinning.
 */
export interface Hog {
  readonly pids: number[];
  stop(): Promise<void>;
}

/** A busy loop that checks the clock every few million iterations and ends at its deadline. */
const LOOP = `
const end = Date.now() + Number(process.argv[1]);
let x = 0;
while (Date.now() < end) for (let i = 0; i < 5e6; i++) x = (x * 31 + i) | 0;
`;

export async function startHog(cores: number, maxMs: number): Promise<Hog> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < cores; i++) {
    const child = spawn(process.execPath, ["-e", LOOP, String(Math.ceil(maxMs))], { stdio: "ignore" });
    children.push(child);
    await once(child, "spawn");
  }
  return {
    pids: children.map((child) => child.pid!),
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, "exit");
          child.kill("SIGKILL");
          await exited;
        }),
      );
    },
  };
}
