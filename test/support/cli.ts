import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { runCli } from "../../server/src/cli/program.ts";

const root = resolve(import.meta.dirname, "../..");

/** What one run of the command line printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  stream.text = "";
  return stream;
}

/** Runs `loom <args>` in this process (the same code the bin runs), with its own environment. */
export async function loom(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(args, { stdout, stderr, env, sleep: async () => undefined });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/**
 * Runs `loom <args>` in this process and asks it to stop, as Ctrl-C does (main.ts aborts the same
 * signal), the first time what it wrote on stderr satisfies `stopWhen` (`--progress` draws there).
 */
export async function loomStopped(
  args: string[],
  env: NodeJS.ProcessEnv,
  stopWhen: (stderr: string) => boolean,
): Promise<CliRun> {
  const stdout = sink();
  const controller = new AbortController();
  let text = "";
  const stderr = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      if (!controller.signal.aborted && stopWhen(text)) controller.abort();
      done();
    },
  });
  const code = await runCli(args, {
    stdout,
    stderr,
    env,
    sleep: async () => undefined,
    signal: controller.signal,
  });
  return { code, stdout: stdout.text, stderr: text };
}

/** `loom` as its own process (server/bin/loom.mjs), for what only a process has: signals, pipes. */
export interface LoomProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stderr satisfies `check`, rejects if the process ends first. */
  waitForStderr(check: (stderr: string) => boolean): Promise<void>;
  exited: Promise<number | null>;
}

export function spawnLoom(args: string[], env: NodeJS.ProcessEnv = {}): LoomProcess {
  const child = spawn(process.execPath, [join(root, "server/bin/loom.mjs"), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr: (check) =>
      new Promise<void>((resolve, reject) => {
        const wake = () => {
          if (!check(err)) return;
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        void exited.then(() => {
          waiters.delete(wake);
          if (check(err)) resolve();
          else reject(new Error(`loom ${args.join(" ")} ended (stderr: ${err.slice(-500)})`));
        });
        wake();
      }),
  };
}
