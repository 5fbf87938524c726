import { describe, expect, it, vi } from "vitest";
import { FaultLog, errorClass } from "./fault-log.ts";

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
    const spies = [
      vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line))),
      vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line))),
    ];
    const faults = new FaultLog(() => 1_000);
    try {
      faults.failed("database", diskFull(), { universeId: "u-1", turns: 12 });
      faults.failed("database", diskFull(), { universeId: "u-2", turns: 3 });
      faults.failed("database", diskFull(), { universeId: "u-1", turns: 13 });
      // when it works again
      faults.recovered("database");
      faults.recovered("database");
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // then one line for the failure, one for the recovery, counts by class, and no payload
    const relevant = lines.filter((line) => line.includes("database"));
    expect(relevant.some((line) => line.includes("[53100]") && line.includes("u-1"))).toBe(true);
    expect(relevant.filter((line) => line.includes("failing"))).toHaveLength(1);
    expect(lines.join("\n")).not.toContain("secret turn json");
    expect(faults.read()).toEqual({ "database:53100": 3 });
    expect(faults.isFailing("database")).toBe(false);
  });

  it("stays failing while one universe fails and others write, until that universe writes or closes", () => {
    const lines: string[] = [];
    const spies = [
      vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line))),
      vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line))),
    ];
    const faults = new FaultLog(() => 1_000);
    try {
      // a database that refuses one universe's turns, while another's are written at every tick
      for (let tick = 0; tick < 5; tick++) {
        faults.failed("database", diskFull(), { universeId: "u-bad", turns: tick + 1 });
        faults.recovered("database", "u-good");
      }
      expect(faults.isFailing("database")).toBe(true);
      expect(lines.filter((line) => line.includes("database failing"))).toHaveLength(1);
      // the failing universe closes here: the next failure is news again
      faults.closed("database", "u-bad");
      expect(faults.isFailing("database")).toBe(false);
      faults.failed("database", diskFull(), { universeId: "u-other", turns: 1 });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(lines.filter((line) => line.includes("database failing"))).toHaveLength(2);
  });

  it("classes an error by its driver's code, else by its name", () => {
    expect(errorClass(diskFull())).toBe("53100");
    expect(errorClass(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      "ECONNREFUSED",
    );
    expect(errorClass(new Error("Command timed out"))).toBe("timeout");
    expect(errorClass(new TypeError("x"))).toBe("TypeError");
  });
});
