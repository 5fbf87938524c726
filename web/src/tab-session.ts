/**
 * The tab's client session id, which its joins name (joinUniverse's `session`). A reload drops the
 * page's connection, and the server keeps that seat a while for it to come back: a join naming the
 * same session takes the kept seat's place, where an unnamed one would be counted beside it (eight
 * quick reloads were refused as too many connections). One id per tab, through its reloads; a new
 * tab makes its own.
 *
 * A duplicated tab starts with a copy of its origin's sessionStorage, and two tabs sharing an id
 * would give up each other's seats. So the id is not left there while the page is open: the page
 * takes it out as it loads, and puts it back as it goes (`pagehide`), for the page loaded next in
 * the same tab. A tab duplicated meanwhile finds none and makes its own.
 */
const KEY = "loom.tab-session";
/** What the server takes as a session id (shared's joinOptionsSchema). */
const SESSION_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** 96 random bits, URL-safe: 16 characters. */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

/** sessionStorage, unless the browser refuses it (storage off): the tab then has an id per page. */
function storage(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

function takeKept(): string | null {
  try {
    const kept = storage()?.getItem(KEY) ?? null;
    storage()?.removeItem(KEY);
    return kept !== null && SESSION_ID.test(kept) ? kept : null;
  } catch {
    return null;
  }
}

/** Taken as the module loads, before the page could be duplicated with it still stored. */
export const tabSession = takeKept() ?? newSessionId();

addEventListener("pagehide", () => {
  try {
    storage()?.setItem(KEY, tabSession);
  } catch {
    // the next page of this tab makes a new id: its join is counted beside the kept seat
  }
});
// back from the back-forward cache: this page is open again, and keeps the id to itself
addEventListener("pageshow", (event) => {
  if (event.persisted) takeKept();
});
