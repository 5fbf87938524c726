import { Writable } from "node:stream";
import { runCli } from "../../server/src/cli/program.ts";

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
