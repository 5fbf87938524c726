import { useEffect, useRef, useState } from "preact/hooks";
import type { Delta, Turn } from "@loom/client-sdk";
import type { Bookmark, ScrubView } from "@loom/shared";
import { describeError, getJson } from "./api.ts";
import { BookmarkSelect } from "./bookmarks.tsx";
import { count, ErrorLine } from "./ui.tsx";

interface FullState {
  position: number;
  checksum: string;
  state: unknown;
}
/** Waits this long after the last move before reading: dragging asks only for where it rests. */
const SETTLE_MS = 120;
/** A read of a position unanswered this long is given up: the page says so and offers another. */
export const SCRUB_READ_TIMEOUT_MS = 10_000;

function describeDelta(delta: Delta & { position: number }): string {
  const value = (v: unknown) => (v === undefined ? "" : JSON.stringify(v).slice(0, 80));
  return `#${delta.position} ${delta.op} ${delta.path}${delta.value !== undefined ? ` = ${value(delta.value)}` : ""}${
    delta.prev !== undefined ? ` (was ${value(delta.prev)})` : ""
  }`;
}

/**
 * The timeline scrubber: a range through every position, 0 to the head. The slider moves at once;
 * the scrubber's view at the resting position (GET /scrub: the state in brief, the turn and its
 * deltas, one read) is asked for after SETTLE_MS, and a read still in flight when the slider moves
 * on is aborted, so dragging through a long history stays smooth and no older answer replaces a
 * newer one. The whole state, with its checksum, is read on request: on a large world it is
 * megabytes.
 */
export function Scrubber(props: {
  universeId: string;
  head: number;
  position: number;
  onPosition: (position: number) => void;
  bookmarks: Bookmark[];
  /** Reads the page of bookmarks before the oldest shown; null when none is left. */
  onOlderBookmarks?: (() => void) | null;
  /**
   * The status of the turn at the position as the live timeline has it (undefined when the page
   * does not hold it): an undo of the scrubbed turn changes what the view says of it.
   */
  turnStatus?: Turn["status"];
}) {
  const { universeId, head, position } = props;
  const [shown, setShown] = useState<ScrubView | null>(null);
  const [full, setFull] = useState<FullState | null>(null);
  const [loading, setLoading] = useState(false);
  const [readingFull, setReadingFull] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // the position whose read went unanswered, and a new value for each try again
  const [unanswered, setUnanswered] = useState<number | null>(null);
  const [attempt, setAttempt] = useState(0);
  const inFlight = useRef<AbortController | null>(null);
  const base = `/api/universes/${encodeURIComponent(universeId)}`;

  useEffect(() => {
    const timer = setTimeout(() => {
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      setLoading(true);
      setError(null);
      setUnanswered(null);
      const silent = setTimeout(() => {
        controller.abort();
        setLoading(false);
        setUnanswered(position);
      }, SCRUB_READ_TIMEOUT_MS);
      getJson<ScrubView>(`${base}/scrub?position=${position}`, controller.signal)
        .then(
          (view) => {
            if (controller.signal.aborted) return;
            setShown(view);
            setLoading(false);
          },
          (caught: unknown) => {
            if (controller.signal.aborted) return;
            setError(describeError(caught));
            setLoading(false);
          },
        )
        .finally(() => clearTimeout(silent));
      controller.signal.addEventListener("abort", () => clearTimeout(silent));
    }, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [base, position, props.turnStatus, attempt]);
  useEffect(() => () => inFlight.current?.abort(), []);

  const readFull = () => {
    const at = position;
    setFull(null);
    setReadingFull(true);
    getJson<FullState>(`${base}/state?position=${at}`)
      .then(
        (read) => setFull(read),
        (caught: unknown) => setError(describeError(caught)),
      )
      .finally(() => setReadingFull(false));
  };

  const summary = shown?.summary;
  const more = (list: { count: number; shown: unknown[] }) =>
    list.count > list.shown.length ? ` · and ${list.count - list.shown.length} more` : "";
  return (
    <div class="scrubber">
      <label class="field">
        <span class="label">
          Position <output class="scrub-position">{position}</output> of {head}
        </span>
        <input
          type="range"
          name="position"
          min={0}
          max={head}
          step={1}
          value={position}
          list="bookmarks"
          aria-valuetext={`position ${position} of ${head}`}
          onInput={(event) => props.onPosition(Number(event.currentTarget.value))}
        />
      </label>
      <datalist id="bookmarks">
        {props.bookmarks.map((bookmark) => (
          <option
            key={`${bookmark.position} ${bookmark.kind} ${bookmark.label}`}
            value={bookmark.position}
            label={bookmark.label}
          />
        ))}
      </datalist>
      <div class="row">
        <button
          type="button"
          onClick={() => props.onPosition(Math.max(0, position - 1))}
          aria-label="One turn back"
        >
          ◀
        </button>
        <button
          type="button"
          onClick={() => props.onPosition(Math.min(head, position + 1))}
          aria-label="One turn forward"
        >
          ▶
        </button>
        <button type="button" onClick={() => props.onPosition(head)}>
          Head
        </button>
        <BookmarkSelect
          bookmarks={props.bookmarks}
          onOlder={props.onOlderBookmarks}
          onPosition={props.onPosition}
          position={position}
        />
      </div>
      <p class="muted" role="status" aria-busy={loading}>
        {loading
          ? `Reading position ${position}…`
          : shown
            ? `State at #${shown.position} · ${
                shown.source.kind === "snapshot"
                  ? `from snapshot #${shown.source.from} + ${count(shown.source.replayed, "turn")}`
                  : shown.source.kind === "index"
                    ? "from the index"
                    : `walked ${count(shown.source.turns, "turn")} from #${shown.source.from}`
              }`
            : ""}
      </p>
      <ErrorLine error={error} />
      {unanswered === position ? (
        <div class="row" role="alert">
          <p class="error">
            The server did not answer the read of position {position} within {SCRUB_READ_TIMEOUT_MS / 1000}{" "}
            seconds.
          </p>
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      ) : null}
      {summary && shown ? (
        <div class="scrub-view" data-position={shown.position}>
          <div>
            <h3>State</h3>
            <dl class="facts">
              <dt>Scene</dt>
              <dd class="scrub-scene">
                {summary.scene.title || "—"}
                {summary.scene.aspects.length > 0 ? ` (${summary.scene.aspects.join(", ")})` : ""}
              </dd>
              <dt>Characters</dt>
              <dd>
                {summary.characters
                  .map(
                    (c) =>
                      `${c.name}: ${c.fatePoints} FP, stress ${c.physicalStress} ${c.mentalStress}${
                        c.consequences.length > 0 ? `, ${c.consequences.join(", ")}` : ""
                      }`,
                  )
                  .join(" · ") || "—"}
              </dd>
              <dt>NPCs</dt>
              <dd>
                {summary.npcs.shown.map((npc) => `${npc.name} (${npc.relationship})`).join(" · ") || "—"}
                {more(summary.npcs)}
              </dd>
              <dt>Quests</dt>
              <dd>
                {summary.quests.shown.map((quest) => `${quest.title} (${quest.state})`).join(" · ") || "—"}
                {more(summary.quests)}
              </dd>
              <dt>Locations</dt>
              <dd>
                {summary.locations.shown.join(" · ") || "—"}
                {more(summary.locations)}
              </dd>
              <dt>Canon</dt>
              <dd>{summary.canonFacts} facts</dd>
            </dl>
            <button type="button" onClick={readFull} disabled={readingFull} aria-busy={readingFull}>
              {readingFull
                ? `Reading the state at #${position}…`
                : `Whole state at #${position} (JSON, with checksum)`}
            </button>
            {full ? (
              <details open class="full-state">
                <summary>
                  State at #{full.position} · checksum <code>{full.checksum.slice(0, 16)}…</code>
                </summary>
                <pre>{JSON.stringify(full.state, null, 2).slice(0, 200_000)}</pre>
              </details>
            ) : null}
          </div>
          <div>
            <h3>
              Turn #{shown.position}
              {shown.turn ? `: ${shown.turn.kind.replace("_", " ")}` : ""}
            </h3>
            {shown.turn?.status === "undone" ? (
              <p class="undone-note">
                <span class="badge">undone</span> its changes were reversed by a later undo
              </p>
            ) : null}
            {shown.turn ? <p>{shown.turn.events.map((event) => event.description).join(" ")}</p> : null}
            <h4>Its deltas</h4>
            <ul class="deltas">
              {shown.deltas.length === 0 ? <li class="muted">none</li> : null}
              {shown.deltas.slice(0, 100).map((delta, index) => (
                <li key={index}>
                  <code>{describeDelta(delta)}</code>
                </li>
              ))}
            </ul>
          </div>
        </div>
      ) : null}
    </div>
  );
}
