/**
 * Errors as logs and answers may show them: without the values they were carrying. A failed
 * query's error (drizzle's DrizzleQueryError, and the driver's error under it) holds the
 * statement's parameters: players' names, notes, whole batches of turns. Only the message and
 * code of the database's own error are kept, and the stack of the outermost error for the place
 * it came from.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-error thrown: ${typeof error}`;
  const head = queryFailure(error) ? safeMessage(error) : `${error.name}: ${error.message}${codeOf(error)}`;
  return `${head}\n${stackOf(error)}`;
}

/** An error's message, without a failed query's statement and parameters. */
export function safeMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const database = queryFailure(error);
  if (!database) return error.message;
  const driver = database.cause instanceof Error ? database.cause : database;
  // drizzle's own message is the statement and its parameters; the driver's error says why
  if (driver === database && (database.name === "DrizzleQueryError" || isQueryText(database.message)))
    return "a database query failed";
  return `a database query failed: ${driver.message}${codeOf(driver)}`;
}

function isQueryText(message: string): boolean {
  return message.startsWith("Failed query:");
}

/** Whether the error is a failed query's, one that may hold its statement and parameters. */
export function isQueryFailure(error: Error): boolean {
  return (
    error.name === "DrizzleQueryError" ||
    "params" in error ||
    "parameters" in error ||
    isQueryText(error.message)
  );
}

/** The error of a query, wherever it sits in the cause chain; null when there is none. */
function queryFailure(error: Error): Error | null {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (isQueryFailure(current)) return current;
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

/** An error's class: the driver's code (a SQLSTATE such as `53100`, `ECONNREFUSED`), else its name. */
export function errorClass(error: unknown): string {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") return String(code);
    current = current.cause;
  }
  if (error instanceof Error && /timed? ?out/i.test(error.message)) return "timeout";
  return error instanceof Error ? error.name : "unknown";
}
