import { useEffect, useRef, useState } from "preact/hooks";
import type { Bookmark } from "@loom/shared";
import { client } from "./api.ts";
import { useNewestRead } from "./ui.tsx";

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
  const reads = useNewestRead();
  useEffect(() => setOlder(null), [universeId]);
  useEffect(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      // reads may overlap: one begun before a save point was named must not answer last
      void reads
        .read(() => client.bookmarkPage(universeId), setNewest)
        .catch(
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

/** A bookmark's value in the select: unique, and the same while older pages are read in. */
function keyOf(mark: Bookmark): string {
  return `${mark.position} ${mark.kind} ${mark.label}`;
}

/**
 * A select that jumps to a bookmark, and a button for older ones while older pages are left. The
 * bookmark chosen stays selected while the position is its own, so the keyboard's arrows go on
 * to the next one from there (a select that fell back to its prompt sent every arrow press to
 * the first bookmark again).
 */
export function BookmarkSelect(props: {
  bookmarks: Bookmark[];
  onOlder: (() => void) | null | undefined;
  onPosition: (position: number) => void;
  /** The position shown now. */
  position: number | null;
}) {
  const [chosen, setChosen] = useState("");
  const mark = props.bookmarks.find((candidate) => keyOf(candidate) === chosen);
  const selected = mark && mark.position === props.position ? chosen : "";
  return (
    <>
      <select
        aria-label="Bookmarks"
        value={selected}
        onChange={(event) => {
          const value = event.currentTarget.value;
          const next = props.bookmarks.find((candidate) => keyOf(candidate) === value);
          setChosen(value);
          if (next) props.onPosition(next.position);
        }}
      >
        <option value="">Jump to a bookmark…</option>
        {props.bookmarks.map((bookmark) => (
          <option key={keyOf(bookmark)} value={keyOf(bookmark)}>
            #{bookmark.position} {bookmark.label}
          </option>
        ))}
      </select>
      {props.onOlder ? (
        <button type="button" onClick={props.onOlder}>
          Older bookmarks
        </button>
      ) : null}
    </>
  );
}
