import { useEffect, useRef, useState } from "preact/hooks";
import type { Bookmark } from "@loom/shared";
import { client } from "./api.ts";

/**
 * The universe's bookmarks (GET /api/universes/:id/bookmarks): the newest page, read again
 * (debounced) as the head moves, and older pages as the game master asks for them (`older`, null
 * once every page is read). A campaign of months has thousands.
 */
export function useBookmarks(
  universeId: string,
  head: number,
): { bookmarks: Bookmark[]; older: (() => void) | null; refresh: () => void } {
  const [newest, setNewest] = useState<{ bookmarks: Bookmark[]; nextBefore: number | null }>({
    bookmarks: [],
    nextBefore: null,
  });
  const [older, setOlder] = useState<{ bookmarks: Bookmark[]; nextBefore: number | null } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // a save point named does not move the head: its page is read again on request
  const [asked, setAsked] = useState(0);
  useEffect(() => setOlder(null), [universeId]);
  useEffect(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      void client.bookmarkPage(universeId).then(
        setNewest,
        () => undefined, // bookmarks are a convenience; the scrubber works without them
      );
    }, 400);
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [universeId, head, asked]);
  const before = older ? older.nextBefore : newest.nextBefore;
  const loadOlder = () => {
    if (before === null) return;
    void client.bookmarkPage(universeId, before).then(
      (page) =>
        setOlder((loaded) => ({
          bookmarks: [...page.bookmarks, ...(loaded?.bookmarks ?? [])],
          nextBefore: page.nextBefore,
        })),
      () => undefined,
    );
  };
  // the newest page may reach below the older pages read before it moved: one of each position
  const seen = new Set<string>();
  const bookmarks = [...(older?.bookmarks ?? []), ...newest.bookmarks].filter((mark) => {
    const key = `${mark.position} ${mark.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    bookmarks,
    older: before === null ? null : loadOlder,
    refresh: () => setAsked((count) => count + 1),
  };
}

/** A select that jumps to a bookmark, with "Older bookmarks…" while older pages are left. */
export function BookmarkSelect(props: {
  bookmarks: Bookmark[];
  onOlder: (() => void) | null | undefined;
  onPosition: (position: number) => void;
}) {
  return (
    <select
      aria-label="Bookmarks"
      value=""
      onChange={(event) => {
        const value = event.currentTarget.value;
        if (value === "older") props.onOlder?.();
        else if (value) props.onPosition(Number(value));
      }}
    >
      <option value="">Jump to a bookmark…</option>
      {props.onOlder ? <option value="older">Older bookmarks…</option> : null}
      {props.bookmarks.map((mark) => (
        <option key={`${mark.position} ${mark.kind} ${mark.label}`} value={mark.position}>
          #{mark.position} {mark.label}
        </option>
      ))}
    </select>
  );
}
