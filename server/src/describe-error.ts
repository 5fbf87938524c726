/**
 * One line for a log about an error, without the values it was carrying. A failed query's error
 * (drizzle's DrizzleQueryError, and the driver's error under it) holds the statement's parameters:
 * players' names, notes and tokens. Only the message and code of the database's own error are
 * kept, and the stack of the outermost error for the place it came from.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-error thrown: ${typeof error}`;
  const database = queryFailure(error);
  if (database) {
    // drizzle's message is the statement and its parameters; the driver's error under it says why
    const driver = database.cause instanceof Error ? database.cause : database;
    const reason =
      driver === database && database.name === "DrizzleQueryError" ? "no cause given" : driver.message;
    return `a database query failed: ${reason}${codeOf(driver)}\n${stackOf(error)}`;
  }
  return `${error.name}: ${error.message}${codeOf(error)}\n${stackOf(error)}`;
}

/** The error of a query, wherever it sits in the cause chain; null when there is none. */
function queryFailure(error: Error): Error | null {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current.name === "DrizzleQueryError" || "params" in current || "parameters" in current)
      return current;
    current = current.cause;
  }
  return null;
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" || typeof code === "number" ? ` [${code}]` : "";
}

/** The stack frames only: the first line of a stack repeats the message, params included. */
function stackOf(error: Error): string {
  return (error.stack ?? "")
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 8)
    .join("\n");
}
