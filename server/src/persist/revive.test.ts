import { sql } from "drizzle-orm";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorClass, safeMessage } from "../describe-error.ts";
import { openDatabase, type OpenDatabase } from "./index.ts";
import { revive, threadError, WITHHELD_QUERY } from "./revive.ts";
import { AppendConflictError } from "./turn-store.ts";

const SECRET = "the-lighthouse-keeper-lies";

/** Across a thread as postMessage carries it: a structured clone. */
function acrossThreads(error: unknown): Error {
  return revive(structuredClone(threadError(error)));
}

describe("errors sent back from a store's thread", () => {
  let database: OpenDatabase;

  beforeAll(async () => {
    database = await openDatabase({ inMemory: true });
  }, 60_000);

  afterAll(async () => {
    await database?.close();
  });

  it("a failed query keeps the database's message and code, not the statement or its parameters", async () => {
    const failed = await database.db.execute(sql`select ${SECRET}::text, 1 / 0`).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(Error);
    const sent = JSON.stringify(threadError(failed));
    expect(sent).not.toContain(SECRET);
    const revived = acrossThreads(failed);
    expect(safeMessage(revived)).toBe("a database query failed: division by zero [22012]");
    expect(errorClass(revived)).toBe("22012");
  });

  it("a damaged table's error keeps its SQLSTATE, so the command line can tell it apart", () => {
    const driver = Object.assign(new Error('invalid page in block 298 of relation "base/5/16847"'), {
      name: "error",
      code: "XX001",
      severity: "ERROR",
      detail: `Key (name)=(${SECRET})`,
      query: "select * from turns where universe_id = $1",
      params: [SECRET],
    });
    const failed = new DrizzleQueryError("select * from turns where universe_id = $1", [SECRET], driver);
    const sent = threadError(failed);
    expect(JSON.stringify(sent)).not.toContain(SECRET);
    expect(sent.message).toBe("Failed query: select * from turns where universe_id = $1");
    const revived = acrossThreads(failed);
    expect(safeMessage(revived)).toBe(
      'a database query failed: invalid page in block 298 of relation "base/5/16847" [XX001]',
    );
    expect(errorClass(revived)).toBe("XX001");
    // and wrapped in an error of the store's own, the cause is carried as far
    expect(safeMessage(acrossThreads(new Error("could not read the timeline", { cause: failed })))).toBe(
      'a database query failed: invalid page in block 298 of relation "base/5/16847" [XX001]',
    );
  });

  it("a failed query's message that is not drizzle's own is withheld whole", () => {
    const failed = Object.assign(new Error(`Failed query: select ${SECRET}`), { params: [] });
    expect(threadError(failed).message).toBe(WITHHELD_QUERY);
  });

  it("errors the port defines come back as their classes, with their fields", () => {
    const revived = acrossThreads(new AppendConflictError("u1", 4, 6));
    expect(revived).toBeInstanceOf(AppendConflictError);
    expect(revived).toMatchObject({ universeId: "u1", expectedHead: 4, actualHead: 6 });
  });
});
