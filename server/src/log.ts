import { describeError } from "./describe-error.ts";

/** A tiny leveled logger; LOOM_LOG=debug|info|warn|error|silent (default info, tests: warn). */
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof levels;

function threshold(): number {
  const wanted = (process.env.LOOM_LOG ?? (process.env.VITEST ? "warn" : "info")) as Level;
  return levels[wanted] ?? levels.info;
}

function emit(level: Exclude<Level, "silent">, message: string, extra: unknown[]): void {
  if (levels[level] < threshold()) return;
  const line = `${new Date().toISOString()} ${level.padEnd(5)} ${message}`;
  // errors as describeError writes them: a failed query's parameters never reach a log
  const details = extra.map((item) => (item instanceof Error ? describeError(item) : item));
  if (level === "error" || level === "warn") console.error(line, ...details);
  else console.log(line, ...details);
}

export const log = {
  debug: (message: string, ...extra: unknown[]) => emit("debug", message, extra),
  info: (message: string, ...extra: unknown[]) => emit("info", message, extra),
  warn: (message: string, ...extra: unknown[]) => emit("warn", message, extra),
  error: (message: string, ...extra: unknown[]) => emit("error", message, extra),
};
