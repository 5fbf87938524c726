/**
 * docker-compose.yml and the Dockerfile, read as Docker would read them, so that tests can check
 * them and run what they describe without a Docker engine: compose's YAML (merge keys, `${VAR}`,
 * `${VAR:-default}` and `$$` interpolation) and the Dockerfile's instructions (line continuations,
 * exec-form JSON arrays).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { logEntries, type LogEntry } from "./server.ts";

export const root = resolve(import.meta.dirname, "../..");

export interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: {
    test: string[] | string;
    interval?: string;
    timeout?: string;
    retries?: number;
    start_period?: string;
  };
  stop_grace_period?: string;
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml, parsed strictly (any YAML error or warning throws). */
export function readCompose(path = join(root, "docker-compose.yml")): Compose {
  const document = parseDocument(readFileSync(path, "utf8"), { merge: true, strict: true, uniqueKeys: true });
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0)
    throw new Error(`docker-compose.yml: ${problems.map((p) => p.message).join("; ")}`);
  return document.toJS({ maxAliasCount: 100 }) as Compose;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$VAR`, `$$` for a `$`. */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, colon?: string, fallback?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const set = env[(braced ?? bare)!];
      if (fallback === undefined) return set ?? "";
      // `:-` replaces an unset or empty variable, `-` an unset one only
      if (set === undefined || (colon && set === "")) return fallback;
      return set;
    },
  );
}

/** A service's environment after interpolation (null and numbers as compose passes them). */
export function environmentOf(
  service: ComposeService,
  env: Record<string, string | undefined> = {},
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [
      key,
      interpolate(String(value ?? ""), env),
    ]),
  );
}

export interface DockerInstruction {
  keyword: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions, continuation lines joined, comments and parser directives left out. */
export function readDockerfile(path = join(root, "Dockerfile")): DockerInstruction[] {
  const instructions: DockerInstruction[] = [];
  let pending: { text: string; line: number } | null = null;
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((raw, index) => {
      const line = raw.trimEnd();
      if (pending === null && (line.trim() === "" || line.trimStart().startsWith("#"))) return;
      if (pending !== null && line.trimStart().startsWith("#")) return; // a comment inside a continuation
      const text = line.endsWith("\\") ? line.slice(0, -1) : line;
      pending = pending
        ? { text: `${pending.text} ${text.trim()}`, line: pending.line }
        : { text, line: index + 1 };
      if (line.endsWith("\\")) return;
      const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(pending.text);
      if (!match) throw new Error(`Dockerfile line ${pending.line}: not an instruction: ${pending.text}`);
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line });
      pending = null;
    });
  if (pending) throw new Error("Dockerfile ends inside a continued line");
  return instructions;
}

/** An exec-form argument (`["a", "b"]`) as its array; a shell form throws. */
export function execForm(instruction: DockerInstruction): string[] {
  const parsed = JSON.parse(instruction.args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string"))
    throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} is not in exec form`);
  return parsed;
}

/** `ENV a=b c=d` (or the old `ENV a b`) over every ENV instruction, in order. */
export function dockerfileEnv(instructions: DockerInstruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of instructions) {
    if (keyword !== "ENV") continue;
    if (!args.includes("=")) {
      const [name, ...rest] = args.split(/\s+/);
      env[name!] = rest.join(" ");
      continue;
    }
    for (const pair of args.match(/[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|\S+)/g) ?? []) {
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      env[name] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    }
  }
  return env;
}

/** Runs an exec-form command as a container would start it, in the repository (the image's WORKDIR copy). */
export function runExec(command: string[], env: Record<string, string>): ChildProcess {
  const [program, ...args] = command;
  return spawn(program === "node" ? process.execPath : program!, args, {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A compose health check's `CMD` form, run here; true when it exits 0. */
export function healthy(
  test: string[] | string,
  rewrite: (part: string) => string = (part) => part,
): boolean {
  if (!Array.isArray(test) || test[0] !== "CMD")
    throw new Error(`a health check in CMD form, got ${JSON.stringify(test)}`);
  const [program, ...args] = test.slice(1).map(rewrite);
  const run = spawnSync(program === "node" ? process.execPath : program!, args, { timeout: 10_000 });
  return run.status === 0;
}

/** A process started from the Dockerfile's CMD, with its stdout read as log entries. */
export class ContainerProcess {
  private stdout = "";
  private stderr = "";
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  }

  logs(): LogEntry[] {
    return logEntries(this.stdout);
  }

  output(): string {
    return `${this.stdout}${this.stderr}`;
  }

  /** `docker stop`: SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs: number): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** `30s`, `1m30s`, `500ms` as milliseconds (compose's durations). */
export function durationMs(text: string): number {
  let total = 0;
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let consumed = "";
  for (const match of text.matchAll(pattern)) {
    consumed += match[0];
    total +=
      Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
  }
  if (consumed !== text || text === "") throw new Error(`not a compose duration: ${text}`);
  return total;
}
