import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { FaultLog, errorClass, isDependencyFailure } from "./fault-log.ts";
import { captureLog } from "./log.ts";

/** The log's JSON lines, parsed. */
const entries = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

function diskFull(): Error {
  const driver = Object.assign(new Error("could not extend file: No space left on device"), {
    code: "53100",
  });
  return Object.assign(new Error("Failed query: insert into turns … params: [secret turn json]"), {
    name: "DrizzleQueryError",
    cause: driver,
  });
}

describe("fault log", () => {
  it("logs a failing dependency once, with its code and without the query's payload, then once when it recovers", () => {
    // given a database failing for two universes, three times
    const lines: string[] = [];
    const restore = captureLog((line) => lines.push(line), "info");
    const faults = new FaultLog(() => 1_000);
    try {
      faults.failed("database", diskFull(), { universeId: "u-1", turns: 12 });
      faults.failed("database", diskFull(), { universeId: "u-2", turns: 3 });
      faults.failed("database", diskFull(), { universeId: "u-1", turns: 13 });
      // when it works again
      faults.recovered("database");
      faults.recovered("database");
    } finally {
      restore();
    }
    // then one error line for the failure, with its code and universe as fields, one info line for
    // the recovery, counts by class, and no payload
    const logged = entries(lines).filter((entry) => entry.dependency === "database");
    expect(logged.map((entry) => entry.level)).toEqual(["error", "info"]);
    expect(logged[0]).toMatchObject({ code: "53100", universeId: "u-1", turns: 12 });
    expect(logged[0]!.msg).toContain("database failing [53100]");
    expect(logged[1]).toMatchObject({ failures: 3 });
    expect(logged[1]!.msg).toContain("database works again");
    expect(lines.join("\n")).not.toContain("secret turn json");
    expect(faults.read()).toEqual({ "database:53100": 3 });
    expect(faults.isFailing("database")).toBe(false);
  });

  it("stays failing while one universe fails and others write, until that universe writes or closes", () => {
    const lines: string[] = [];
    const restore = captureLog((line) => lines.push(line), "info");
    const faults = new FaultLog(() => 1_000);
    try {
      // a database that refuses one universe's turns, while another's are written at every tick
      for (let tick = 0; tick < 5; tick++) {
        faults.failed("database", diskFull(), { universeId: "u-bad", turns: tick + 1 });
        faults.recovered("database", "u-good");
      }
      expect(faults.isFailing("database")).toBe(true);
      expect(entries(lines).filter((entry) => String(entry.msg).startsWith("database failing"))).toHaveLength(
        1,
      );
      // the failing universe closes here: the next failure is news again
      faults.closed("database", "u-bad");
      expect(faults.isFailing("database")).toBe(false);
      faults.failed("database", diskFull(), { universeId: "u-other", turns: 1 });
    } finally {
      restore();
    }
    const failing = entries(lines).filter((entry) => String(entry.msg).startsWith("database failing"));
    expect(failing.map((entry) => entry.universeId)).toEqual(["u-bad", "u-other"]);
  });

  it("classes an error by its driver's code, else by its name", () => {
    expect(errorClass(diskFull())).toBe("53100");
    expect(errorClass(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      "ECONNREFUSED",
    );
    expect(errorClass(new Error("Command timed out"))).toBe("timeout");
    expect(errorClass(new TypeError("x"))).toBe("TypeError");
  });

  it("tells a dependency that is down from a request or a bug, on the drivers' own errors", async () => {
    // nothing listens on port 1: the driver's own refusal
    const nowhere = postgres("postgres://postgres@127.0.0.1:1/test", { connect_timeout: 2, max: 1 });
    const refused = await nowhere`select 1`.then(
      () => null,
      (error: unknown) => error,
    );
    await nowhere.end();
    expect(isDependencyFailure(refused)).toBe(true);
    expect(isDependencyFailure(diskFull())).toBe(true);
    for (const code of ["57P01", "57P03", "08006", "CONNECTION_CLOSED", "ECONNRESET"])
      expect(isDependencyFailure(Object.assign(new Error(code), { code })), code).toBe(true);
    expect(isDependencyFailure(new Error("Command timed out"))).toBe(true);
    expect(isDependencyFailure(new Error("Connection is closed."))).toBe(true);
    // a wrong query (42601), a constraint (23505), a bug: not the dependency's fault
    for (const code of ["42601", "23505", "22P02"])
      expect(isDependencyFailure(Object.assign(new Error(code), { code })), code).toBe(false);
    expect(isDependencyFailure(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isDependencyFailure("a string")).toBe(false);
  });
});
