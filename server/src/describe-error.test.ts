import { describe, expect, it } from "vitest";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { describeError, safeMessage } from "./describe-error.ts";

describe("describeError", () => {
  it("keeps a failed query's reason and code but none of its parameters", () => {
    const driver = Object.assign(new Error('insert or update on table "turns" violates a constraint'), {
      code: "23503",
      parameters: ["player-secret-notes"],
    });
    const error = new DrizzleQueryError('insert into "turns" values ($1)', ["player-secret-notes"], driver);
    const line = describeError(error);
    expect(line).toContain("violates a constraint");
    expect(line).toContain("[23503]");
    expect(line).not.toContain("player-secret-notes");
    expect(line).toMatch(/\n\s+at /);
  });

  it("withholds a query text that reached a plain Error's message", () => {
    const rethrown = new Error('Failed query: insert into "turns" ...\nparams: {"text":"secret"}');
    expect(describeError(rethrown)).not.toContain("secret");
    expect(safeMessage(rethrown)).toBe("a database query failed");
  });

  it("describes other errors by name, message and code", () => {
    expect(describeError(Object.assign(new RangeError("too far"), { code: "E_FAR" }))).toMatch(
      /^RangeError: too far \[E_FAR\]/,
    );
    expect(describeError("a string")).toBe("non-error thrown: string");
  });
});
