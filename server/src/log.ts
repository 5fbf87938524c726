/**
 * The process's log, through pino: one JSON object a line on stdout (`level`, `time`, `msg`, the
 * pid, and fields such as `universeId`, `requestId`, `code`, `err`), or pino-pretty's readable
 * lines when stdout is a terminal. LOOM_LOG_LEVEL=debug|info|warn|error|silent (default info;
 * warn under vitest), LOOM_LOG_FORMAT=json|pretty (default: pretty on a terminal, else json),
 * LOOM_LOG_DESTINATION=stdout|stderr (the load generator keeps stdout for its report). Read when
 * the first line is logged, so a program may set them after importing this module.
 *
 * Errors go in as `err` and come out as describeError writes them: a failed query's parameters
 * (players' notes, whole batches of turns) never reach a log line.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { describeError } from "./describe-error.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** What a line may carry besides its message. `err` is described, never logged as it is. */
export interface LogFields {
  err?: unknown;
  universeId?: string;
  requestId?: string;
  /** An error class: a SQLSTATE, an errno code, `timeout`… (fault-log.ts). */
  code?: string;
  [field: string]: unknown;
}

const context = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` with `fields` on every line logged while it runs, synchronously or not (a request's id). */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/**
 * Runs `fn` outside any request's fields: what it starts that lives on (a universe's room, its
 * timers and the lines they log for hours) must not carry the request that happened to open it.
 */
export function outsideLogContext<T>(fn: () => T): T {
  return context.exit(fn);
}

export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const wanted = env.LOOM_LOG_LEVEL || (env.VITEST ? "warn" : "info");
  return LEVELS.includes(wanted as LogLevel) ? (wanted as LogLevel) : "info";
}

function destinationFd(env: NodeJS.ProcessEnv = process.env): 1 | 2 {
  return env.LOOM_LOG_DESTINATION === "stderr" ? 2 : 1;
}

export function logFormat(env: NodeJS.ProcessEnv = process.env): "json" | "pretty" {
  const wanted = env.LOOM_LOG_FORMAT;
  if (wanted === "json" || wanted === "pretty") return wanted;
  return (destinationFd(env) === 2 ? process.stderr : process.stdout).isTTY ? "pretty" : "json";
}

function createLogger(destination?: DestinationStream, level: LogLevel = logLevel()): Logger {
  const format = destination ? "json" : logFormat();
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => context.getStore() ?? {},
    // pino-pretty reads the numeric level; JSON readers get its name
    ...(format === "json" ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
  };
  if (destination) return pino(options, destination);
  const fd = destinationFd();
  if (format === "pretty")
    return pino(
      options,
      pretty({
        destination: fd,
        colorize: Boolean((fd === 2 ? process.stderr : process.stdout).isTTY),
        sync: true,
        translateTime: "SYS:HH:MM:ss.l",
        ignore: "pid,hostname",
        singleLine: true,
      }),
    );
  // synchronous: the last lines before a crash or an exit are written, not lost in a buffer
  return pino(options, pino.destination({ fd, sync: true }));
}

let created: Logger | null = null;
const logger = (): Logger => (created ??= createLogger());

/**
 * Sends the log's JSON lines to `write` instead of stdout until the returned function is called
 * (tests read what a component logged, fields and all), from `level` on (LOOM_LOG_LEVEL's by default).
 */
export function captureLog(write: (line: string) => void, level: LogLevel = logLevel()): () => void {
  const previous = created;
  created = createLogger(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n")) if (line) write(line);
        done();
      },
    }),
    level,
  );
  return () => {
    created = previous;
  };
}

function emit(level: Exclude<LogLevel, "silent">, message: string, fields: LogFields): void {
  const to = logger();
  if (!to.isLevelEnabled(level)) return;
  const { err, ...rest } = fields;
  const line: Record<string, unknown> = rest;
  if (err !== undefined) line.err = describeError(err);
  to[level](line, message);
}

export const log = {
  debug: (message: string, fields: LogFields = {}) => emit("debug", message, fields),
  info: (message: string, fields: LogFields = {}) => emit("info", message, fields),
  warn: (message: string, fields: LogFields = {}) => emit("warn", message, fields),
  error: (message: string, fields: LogFields = {}) => emit("error", message, fields),
};

/**
 * What `ws` reports when a client's frame breaks the protocol or passes the size limit (its
 * receiver's errors), which Colyseus logs as an error with its stack. The client's doing, not the
 * server's: any client can send one at every connection it opens.
 */
const CLIENT_FRAME_ERROR =
  /^(Invalid WebSocket frame: |Unsupported WebSocket frame: |Max payload size exceeded)/;

/** One library's log call as a line of this log: its text, and an error among the arguments as `err`. */
function fromLibrary(level: Exclude<LogLevel, "silent">, source: "colyseus" | "console") {
  return (...args: unknown[]) => {
    const err = args.find((arg) => arg instanceof Error);
    const text = args
      .filter((arg) => arg !== err)
      .map((arg) => (typeof arg === "string" ? arg : inspect(arg, { depth: 2, breakLength: Infinity })))
      .join(" ");
    if (err === undefined && CLIENT_FRAME_ERROR.test(text)) {
      const newline = text.indexOf("\n");
      const reason = newline < 0 ? text : text.slice(0, newline);
      emit("warn", `a client sent a frame the server refuses, and its connection was closed: ${reason}`, {
        source,
      });
      return;
    }
    emit(level, text, { source, ...(err ? { err } : {}) });
  };
}

/** Colyseus's logger (defineServer's `logger`): its lines join this log instead of the console. */
export const colyseusLogger = {
  debug: fromLibrary("debug", "colyseus"),
  trace: fromLibrary("debug", "colyseus"),
  info: fromLibrary("info", "colyseus"),
  warn: fromLibrary("warn", "colyseus"),
  error: fromLibrary("error", "colyseus"),
};

/**
 * Sends what libraries write with `console` (@colyseus/schema's warning that a state outgrew its
 * encoding buffer, for one) into this log as lines of `source`
 * "console", so a log collector reading JSON lines meets no plain text. For the server's own
 * process (main.ts); returns the console as it was.
 */
export function routeConsoleToLog(): () => void {
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  console.log = fromLibrary("info", "console");
  console.info = fromLibrary("info", "console");
  console.warn = fromLibrary("warn", "console");
  console.error = fromLibrary("error", "console");
  return () => Object.assign(console, original);
}
