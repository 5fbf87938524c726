import {
  connect,
  LoomError,
  type AuthResult,
  type LoomClient,
  type TokenKeeper,
  type TokenPair,
} from "@loom/client-sdk";

export interface Me {
  id: string;
  name: string;
}

/** The login every tab of this browser shares (tokens in localStorage, as any SPA keeps them). */
export const LOGIN_KEY = "loom.login";

export interface StoredLogin {
  me: Me;
  token: string;
  refreshToken: string;
}

/** The login stored now, whichever tab stored it; null when there is none (or it is unreadable). */
export function storedLogin(): StoredLogin | null {
  try {
    const stored = JSON.parse(localStorage.getItem(LOGIN_KEY) ?? "null") as StoredLogin | null;
    return stored?.token && stored.me?.id ? stored : null;
  } catch {
    return null;
  }
}

/** The player this tab is logged in as (null: logged out): the only one whose tokens it keeps. */
let player: string | null = null;
/** What the app does when this tab's login is gone (a refused renewal, a log-out). */
let loginLost: () => void = () => undefined;

/** Registers what the app does when this tab's login is refused or given up (the login screen). */
export function onLoginLost(handler: () => void): void {
  loginLost = handler;
}

/** The newest pair of a player, as the tabs keep it for renewals (see `newestPair`). */
interface Newest extends TokenPair {
  playerId: string;
}

let database: Promise<IDBDatabase> | null = null;

/**
 * One request against the tabs' token store in IndexedDB. Chromium's localStorage is not read
 * after write across tabs (each tab reads its own copy, updated a moment later), so a tab that
 * takes the renewal lock just as another releases it may still read the refresh token the other
 * has just used; what one tab committed to IndexedDB, the next transaction anywhere reads.
 */
function tokenStore<T>(
  mode: IDBTransactionMode,
  use: (store: IDBObjectStore) => IDBRequest | undefined,
): Promise<T | undefined> {
  database ??= new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open("loom", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("tokens");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error("IndexedDB did not open"));
  });
  return database.then(
    (db) =>
      new Promise<T | undefined>((resolve, reject) => {
        const transaction = db.transaction("tokens", mode);
        const request = use(transaction.objectStore("tokens"));
        transaction.oncomplete = () => resolve(request?.result as T | undefined);
        transaction.onerror = transaction.onabort = () =>
          reject(transaction.error ?? new Error("IndexedDB transaction failed"));
      }),
  );
}

/** Keeps (or drops) the newest pair for the next renewal in any tab; a failure is left to localStorage. */
function keepNewest(newest: Newest | null): Promise<void> {
  return tokenStore<void>("readwrite", (store) =>
    newest ? store.put(newest, "newest") : store.delete("newest"),
  ).then(
    () => undefined,
    () => undefined,
  );
}

/** The newest pair as read inside the renewal lock (undefined: outside it, or none was kept). */
let newestPair: Newest | undefined;
/** The pair this tab is writing to IndexedDB: the lock is held until it is committed. */
let committing: Promise<void> = Promise.resolve();

/**
 * The tabs' shared tokens, for the SDK: one tab renews at a time (navigator.locks), and a tab
 * takes the pair another one renewed instead of presenting the same refresh token again, which
 * the server would take for a stolen one. A tab reads and writes only its own player's login,
 * so a tab left open by someone who logged out never overwrites the next person's.
 */
const keeper: TokenKeeper = {
  exclusive<T>(renew: () => Promise<T>): Promise<T> {
    const locks = (navigator as { locks?: LockManager }).locks;
    if (!locks) return renew();
    return locks.request("loom.tokens", async () => {
      newestPair = await tokenStore<Newest>("readonly", (store) => store.get("newest")).catch(
        () => undefined,
      );
      try {
        return await renew();
      } finally {
        newestPair = undefined;
        await committing;
      }
    }) as Promise<T>;
  },
  read(): TokenPair | null {
    if (player === null) return null;
    if (newestPair)
      return newestPair.playerId === player
        ? { token: newestPair.token, refreshToken: newestPair.refreshToken }
        : null;
    const stored = storedLogin();
    if (stored?.me.id !== player) return null;
    return { token: stored.token, refreshToken: stored.refreshToken };
  },
  write(pair: TokenPair | null): void {
    // another player's login may be newer than this tab's copy of localStorage shows
    const stored = storedLogin();
    const ours =
      player !== null && stored?.me.id === player && (!newestPair || newestPair.playerId === player);
    if (pair) {
      if (!ours) return;
      localStorage.setItem(
        LOGIN_KEY,
        JSON.stringify({ me: stored.me, token: pair.token, refreshToken: pair.refreshToken }),
      );
      committing = keepNewest({ playerId: stored.me.id, ...pair });
      return;
    }
    if (ours) {
      localStorage.removeItem(LOGIN_KEY);
      committing = keepNewest(null);
    }
    player = null;
    loginLost();
  },
};

/** One client per tab: one player identity against the server that served this page. */
export const client: LoomClient = connect(location.origin, { tokens: keeper });

/** The login this tab keeps across reloads, shared with the browser's other tabs. */
export function restoreLogin(): Me | null {
  const stored = storedLogin();
  if (!stored) return null;
  player = stored.me.id;
  client.useToken(stored.token, stored.refreshToken);
  return stored.me;
}

/** Stores a login or registration (the player with the pair): this tab is now that player. */
export function saveLogin(result: AuthResult): Me {
  const me = { id: result.player.id, name: result.player.name };
  player = me.id;
  localStorage.setItem(
    LOGIN_KEY,
    JSON.stringify({ me, token: result.token, refreshToken: result.refreshToken }),
  );
  void keepNewest({ playerId: me.id, token: result.token, refreshToken: result.refreshToken });
  return me;
}

/**
 * This tab logs out without calling the server (it did, or another tab did): its stored login is
 * removed if it is still this tab's player's, and the tokens it holds are dropped.
 */
export function forgetLogin(): void {
  if (player !== null && storedLogin()?.me.id === player) {
    localStorage.removeItem(LOGIN_KEY);
    void keepNewest(null);
  }
  player = null;
  client.useToken("", null);
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
