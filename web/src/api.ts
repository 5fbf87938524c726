import { connect, LoomError, type AuthResult, type LoomClient } from "@loom/client-sdk";

/** One client per tab: one player identity against the server that served this page. */
export const client: LoomClient = connect(location.origin);

export interface Me {
  id: string;
  name: string;
}

const KEY = "loom.login";

interface Stored {
  me: Me;
  token: string;
  refreshToken: string;
}

/** The login this tab keeps across reloads (tokens in localStorage, as any SPA keeps them). */
export function restoreLogin(): Me | null {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null") as Stored | null;
    if (!stored?.token) return null;
    client.useToken(stored.token, stored.refreshToken);
    return stored.me;
  } catch {
    return null;
  }
}

export function saveLogin(result: AuthResult): Me {
  const me = { id: result.player.id, name: result.player.name };
  localStorage.setItem(KEY, JSON.stringify({ me, token: result.token, refreshToken: result.refreshToken }));
  return me;
}

/** The SDK renews tokens by itself; the renewed pair is written back so a reload keeps the login. */
export function keepTokens(me: Me): void {
  const token = client.playerToken;
  const refreshToken = client.refreshToken;
  if (token && refreshToken) localStorage.setItem(KEY, JSON.stringify({ me, token, refreshToken }));
}

export function forgetLogin(): void {
  localStorage.removeItem(KEY);
}

/** A room's coded rejection as an error to throw (and show with its code). */
export function rejectedError(rejection: { code: string; message: string }): LoomError {
  return new LoomError(rejection.code, rejection.message);
}

/** A form field's text ("" for a missing field or a file). */
export function fieldText(data: FormData, key: string): string {
  const value = data.get(key);
  return typeof value === "string" ? value : "";
}

/** An error as the page shows it: the server's code and message. */
export function describeError(error: unknown): string {
  if (error instanceof LoomError) return `${error.code}: ${error.message}`;
  if (error && typeof error === "object" && "code" in error && "message" in error)
    return `${String((error as { code: unknown }).code)}: ${String((error as { message: unknown }).message)}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A fetch of this server's API with the tab's token, renewed once if it expired. The response is
 * returned as it came: the caller reads its body (JSON, or a stream).
 */
export async function authorizedFetch(path: string, signal?: AbortSignal): Promise<Response> {
  const attempt = () =>
    fetch(path, {
      headers: { accept: "application/json", authorization: `Bearer ${client.playerToken ?? ""}` },
      signal,
    });
  const response = await attempt();
  if (response.status !== 401) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { error?: { code: string } } | null;
  if (body?.error?.code !== "token_expired") return response;
  await client.refreshSession();
  return attempt();
}

/** A GET the SDK has no method for, cancellable: the scrubber aborts a read whose answer it no longer needs. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await authorizedFetch(path, signal);
  const body = (await response.json()) as { error?: { code: string; message: string } };
  if (!response.ok)
    throw new LoomError(
      body.error?.code ?? "http_error",
      body.error?.message ?? response.statusText,
      response.status,
    );
  return body as T;
}
