import { afterEach, describe, expect, it } from "vitest";
import {
  captureLog,
  colyseusLogger,
  log,
  logFormat,
  logLevel,
  outsideLogContext,
  routeConsoleToLog,
  withLogContext,
} from "./log.ts";

let restore: (() => void) | null = null;
afterEach(() => restore?.());

function capture(level: Parameters<typeof captureLog>[1] = "debug"): Array<Record<string, unknown>> {
  const entries: Array<Record<string, unknown>> = [];
  restore = captureLog((line) => entries.push(JSON.parse(line) as Record<string, unknown>), level);
  return entries;
}

describe("the log", () => {
  it("writes one JSON object a line with level, time, msg and the fields given", () => {
    const entries = capture();
    log.info("opened universe u-1", { universeId: "u-1" });
    log.warn("careful");
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      level: "info",
      msg: "opened universe u-1",
      universeId: "u-1",
      pid: process.pid,
    });
    expect(new Date(entries[0]!.time as string).toISOString()).toBe(entries[0]!.time);
    expect(entries[1]).toMatchObject({ level: "warn", msg: "careful" });
  });

  it("leaves out lines below its level", () => {
    const entries = capture("warn");
    log.debug("noise");
    log.info("news");
    log.error("trouble");
    expect(entries.map((entry) => entry.msg)).toEqual(["trouble"]);
  });

  it("describes an error without a failed query's parameters", () => {
    const entries = capture();
    const driver = Object.assign(new Error("duplicate key value"), { code: "23505" });
    const failed = Object.assign(new Error("Failed query: insert into turns … params: [a secret note]"), {
      name: "DrizzleQueryError",
      cause: driver,
    });
    log.error("appending failed", { err: failed, universeId: "u-2" });
    expect(entries[0]!.err).toContain("duplicate key value [23505]");
    expect(JSON.stringify(entries)).not.toContain("a secret note");
    expect(entries[0]!.universeId).toBe("u-2");
  });

  it("adds the context's fields to every line written inside it, also after an await", async () => {
    const entries = capture();
    await withLogContext({ requestId: "r-1" }, async () => {
      log.info("before");
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info("after", { universeId: "u-3" });
    });
    log.info("outside");
    expect(entries.map((entry) => [entry.msg, entry.requestId])).toEqual([
      ["before", "r-1"],
      ["after", "r-1"],
      ["outside", undefined],
    ]);
  });

  it("leaves a request's fields off what is started outside it, timers included", async () => {
    const entries = capture();
    await withLogContext({ requestId: "r-9" }, async () => {
      log.info("in the request");
      await outsideLogContext(
        () => new Promise<void>((resolve) => setTimeout(() => resolve(log.info("hours later")), 1)),
      );
    });
    expect(entries.map((entry) => [entry.msg, entry.requestId])).toEqual([
      ["in the request", "r-9"],
      ["hours later", undefined],
    ]);
  });

  it("takes a library's console output as lines of the log, and gives the console back", () => {
    const entries = capture();
    const restore = routeConsoleToLog();
    try {
      console.warn("@colyseus/schema buffer overflow.\n\n    Encoder.BUFFER_SIZE = 16 * 1024;");
      console.error("failed:", new RangeError("too deep"));
      console.log("plain", { n: 1 });
    } finally {
      restore();
    }
    console.warn("after restore");
    expect(entries.map(({ level, source, msg }) => ({ level, source, msg }))).toEqual([
      {
        level: "warn",
        source: "console",
        msg: "@colyseus/schema buffer overflow.\n\n    Encoder.BUFFER_SIZE = 16 * 1024;",
      },
      { level: "error", source: "console", msg: "failed:" },
      { level: "info", source: "console", msg: "plain { n: 1 }" },
    ]);
    expect(entries[1]!.err).toContain("RangeError: too deep");
  });

  it("takes Colyseus's own lines, an error among their arguments as err", () => {
    const entries = capture();
    colyseusLogger.debug("> Performing health-check against processId: 'p1'...");
    colyseusLogger.error("onMessage failed for", { type: "act" }, new TypeError("boom"));
    expect(entries[0]).toMatchObject({
      level: "debug",
      source: "colyseus",
      msg: "> Performing health-check against processId: 'p1'...",
    });
    expect(entries[1]).toMatchObject({
      level: "error",
      source: "colyseus",
      msg: "onMessage failed for { type: 'act' }",
    });
    expect(entries[1]!.err).toContain("TypeError: boom");
  });

  it("reads its level and format from the environment", () => {
    expect(logLevel({ LOOM_LOG_LEVEL: "error" })).toBe("error");
    expect(logLevel({ LOOM_LOG_LEVEL: "loud" })).toBe("info");
    expect(logLevel({})).toBe("info");
    expect(logLevel({ VITEST: "true" })).toBe("warn");
    expect(logFormat({ LOOM_LOG_FORMAT: "pretty" })).toBe("pretty");
    expect(logFormat({ LOOM_LOG_FORMAT: "json" })).toBe("json");
  });
});
