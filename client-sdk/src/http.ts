import { decodeJoinRefusal, type JoinRefusal } from "@loom/shared";

/**
 * A coded failure from the Loom HTTP API or a room (join refused, rejection): `code` is one of
 * the stable codes of `RejectionCode` (or `join_failed`, `invalid_response`, `http_error` when the
 * server did not answer with one), `message` says why in words, `status` is the HTTP status.
 */
export class LoomError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    /** How long the server asked to wait before trying again (its Retry-After), if it did. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "LoomError";
  }
}

/** The coded refusal a failed room join carries (from the room's onAuth or onJoin), if any. */
export function joinRefusalOf(error: unknown): JoinRefusal | null {
  return decodeJoinRefusal((error as { message?: unknown } | null)?.message);
}

/** The longest an HTTP call may take, its answer's body included. */
const REQUEST_TIMEOUT_MS = 30_000;

export async function request<T>(
  baseUrl: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // a server that never answers must not hold the call (and a renewal every call waits on) forever
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name === "TimeoutError")
      throw new LoomError(
        "unavailable",
        `${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`,
      );
    // fetch's own failure (Node's "fetch failed", a browser's "Failed to fetch"): no connection,
    // or one lost before the answer was read
    if (error instanceof TypeError)
      throw new LoomError(
        "unavailable",
        `${method} ${path}: the server could not be reached (${error.message})`,
      );
    throw error;
  }
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new LoomError(
      "invalid_response",
      `${method} ${path}: server answered ${response.status} with non-JSON`,
      response.status,
    );
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
    throw new LoomError(
      error?.code ?? "http_error",
      error?.message ?? `${method} ${path} failed with ${response.status}`,
      response.status,
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
    );
  }
  return json as T;
}

export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(
    (entry): entry is [string, string | number] => entry[1] !== undefined,
  );
  if (entries.length === 0) return "";
  return `?${entries.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`).join("&")}`;
}
