import { expect } from "vitest";
import { LoomError } from "../../client-sdk/src/index.ts";

/** What a room join failed with (it must fail, with the SDK's coded error). */
export async function joinRefusal(attempt: Promise<unknown>): Promise<LoomError> {
  const error = await attempt.then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(LoomError);
  return error as LoomError;
}

/** What a call failed with, its code and status (it must fail). */
export async function refusal(promise: Promise<unknown>): Promise<{ code: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; status?: number };
  }
  throw new Error("expected a refusal");
}
