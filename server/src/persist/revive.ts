import { NameTakenError } from "../auth/account-store.ts";
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
}

/** What a store's thread sends back for `error` (its fields as JSON). */
export function threadError(error: unknown): ThreadError {
  const { name, message } = error instanceof Error ? error : { name: "Error", message: String(error) };
  const fields =
    typeof error === "object" && error !== null
      ? (JSON.parse(JSON.stringify({ ...error })) as Record<string, unknown>)
      : {};
  return { name, message, fields };
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
      const revived = error.name === "RangeError" ? new RangeError(error.message) : new Error(error.message);
      if (error.name !== "RangeError") revived.name = error.name;
      return revived;
    }
  }
}
