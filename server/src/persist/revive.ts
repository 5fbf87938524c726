import { NameTakenError } from "../auth/account-store.ts";
import { isQueryFailure } from "../describe-error.ts";
import {
  AppendConflictError,
  BranchDepthError,
  ChecksumMismatchError,
  NotFoundError,
  TooManyUniversesError,
} from "./turn-store.ts";

/** An error as a store's thread sends it back: its class's name, its message, its own fields. */
export interface ThreadError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
  /** The error it was thrown for (a failed query's: the database's error, whose message says why). */
  cause?: ThreadError;
}

/** What stands for a failed query's statement when its message is not drizzle's, which names it. */
export const WITHHELD_QUERY = "Failed query: (statement withheld)";

/** Causes carried across: a driver's error sits one or two below what a store throws. */
const CAUSE_DEPTH = 4;

/**
 * What a store's thread sends back for `error` (its fields as JSON, and its causes). A failed
 * query's error and those under it come with their message and code alone, and drizzle's message
 * without its line of parameters: those and the driver's fields (`params`, a violated key's
 * `detail`) hold the statement's values, which describe-error.ts keeps out of every log line;
 * across the thread that holds by their never crossing.
 */
export function threadError(error: unknown, inQuery = false, depth = 0): ThreadError {
  if (!(error instanceof Error)) {
    const fields =
      typeof error === "object" && error !== null
        ? (JSON.parse(JSON.stringify({ ...error })) as Record<string, unknown>)
        : {};
    return { name: "Error", message: String(error), fields };
  }
  const query = inQuery || isQueryFailure(error);
  const sent: ThreadError = {
    name: error.name,
    message: query ? withoutParameters(error) : error.message,
    fields: query ? codeOnly(error) : (JSON.parse(JSON.stringify({ ...error })) as Record<string, unknown>),
  };
  if (error.cause !== undefined && depth < CAUSE_DEPTH)
    sent.cause = threadError(error.cause, query, depth + 1);
  return sent;
}

/** drizzle's message is `Failed query: <statement>\nparams: <values>`: the statement alone. */
function withoutParameters(error: Error): string {
  if (!error.message.startsWith("Failed query:")) return error.message;
  const statement = (error as { query?: unknown }).query;
  return typeof statement === "string" && error.message.startsWith(`Failed query: ${statement}\nparams:`)
    ? `Failed query: ${statement}`
    : WITHHELD_QUERY;
}

function codeOnly(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" || typeof code === "number" ? { code } : {};
}

/** Errors the port defines come back as the same classes, so callers can still tell them apart. */
export function revive(error: ThreadError): Error {
  const f = error.fields;
  switch (error.name) {
    case "AppendConflictError":
      return new AppendConflictError(
        f.universeId as string,
        f.expectedHead as number,
        f.actualHead as number,
      );
    case "ChecksumMismatchError":
      return new ChecksumMismatchError(
        f.universeId as string,
        f.position as number,
        f.expected as string,
        f.actual as string,
      );
    case "NotFoundError":
      return new NotFoundError(f.entity as string, f.id as string);
    case "BranchDepthError":
      return new BranchDepthError(f.parentId as string);
    case "TooManyUniversesError":
      return new TooManyUniversesError(f.createdBy as string, f.max as number);
    case "NameTakenError":
      return new NameTakenError(f.login as string);
    default: {
      const cause = error.cause ? { cause: revive(error.cause) } : undefined;
      const revived =
        error.name === "RangeError" ? new RangeError(error.message, cause) : new Error(error.message, cause);
      if (error.name !== "RangeError") revived.name = error.name;
      // a driver's code (a SQLSTATE, ECONNREFUSED) is what errorClass and the command line go by
      if (typeof f.code === "string" || typeof f.code === "number") Object.assign(revived, { code: f.code });
      return revived;
    }
  }
}
