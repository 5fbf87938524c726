import { useEffect, useRef, useState } from "preact/hooks";
import type { Delta, Turn } from "@loom/client-sdk";
import type { Bookmark, UniverseState } from "@loom/shared";
import { client, describeError, getJson } from "./api.ts";
import { ErrorLine } from "./ui.tsx";

interface StateAt {
  position: number;
  state: UniverseState;
  checksum: string;
  fromSnapshot?: number;
  replayed?: number;
}
interface Shown {
  at: StateAt;
  deltas: Array<Delta & { position: number }>;
  turn: Turn | null;
}
/** Waits this long after the last move before reading: dragging asks only for where it rests. */
const SETTLE_MS = 120;

function describeDelta(delta: Delta & { position: number }): string {
  const value = (v: unknown) => (v === undefined ? "" : JSON.stringify(v).slice(0, 80));
  return `#${delta.position} ${delta.op} ${delta.path}${delta.value !== undefined ? ` = ${value(delta.value)}` : ""}${
    delta.prev !== undefined ? ` (was ${value(delta.prev)})` : ""
  }`;
}

/**
 * The timeline scrubber: a range through every position, 0 to the head. The slider moves at once;
 * the state and the diff at the resting position are read after SETTLE_MS, and a read still in
 * flight when the slider moves on is aborted, so dragging through a long history stays smooth.
 */
export function Scrubber(props: {
  universeId: string;
  head: number;
  position: number;
  onPosition: (position: number) => void;
  bookmarks: Bookmark[];
}) {
  const { universeId, head, position } = props;
  const [shown, setShown] = useState<Shown | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef<AbortController | null>(null);

  useEffect(() => {
    const timer = setTimeout(() => {
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      setLoading(true);
      setError(null);
      const base = `/api/universes/${encodeURIComponent(universeId)}`;
      Promise.all([
        getJson<StateAt>(`${base}/state?position=${position}`, controller.signal),
        position > 0
          ? getJson<{ deltas: Array<Delta & { position: number }> }>(
              `${base}/diff?from=${position - 1}&to=${position}`,
              controller.signal,
            )
          : Promise.resolve({ deltas: [] }),
        position > 0 ? client.turn(universeId, position) : Promise.resolve(null),
      ]).then(
        ([at, diff, turn]) => {
          if (controller.signal.aborted) return;
          setShown({ at, deltas: diff.deltas, turn });
          setLoading(false);
        },
        (caught: unknown) => {
          if (controller.signal.aborted) return;
          setError(describeError(caught));
          setLoading(false);
        },
      );
    }, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [universeId, position]);
  useEffect(() => () => inFlight.current?.abort(), []);

  const state = shown?.at.state;
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
        <select
          aria-label="Bookmarks"
          value=""
          onChange={(event) => {
            const value = event.currentTarget.value;
            if (value) props.onPosition(Number(value));
          }}
        >
          <option value="">Jump to a bookmark…</option>
          {props.bookmarks.map((bookmark) => (
            <option key={`${bookmark.position} ${bookmark.kind} ${bookmark.label}`} value={bookmark.position}>
              #{bookmark.position} {bookmark.label}
            </option>
          ))}
        </select>
      </div>
      <p class="muted" role="status" aria-busy={loading}>
        {loading
          ? `Reading position ${position}…`
          : shown
            ? `State at #${shown.at.position} · checksum ${shown.at.checksum.slice(0, 12)}…${
                shown.at.fromSnapshot !== undefined
                  ? ` · from snapshot #${shown.at.fromSnapshot} + ${shown.at.replayed ?? 0} turns`
                  : ""
              }`
            : ""}
      </p>
      <ErrorLine error={error} />
      {state && shown ? (
        <div class="scrub-view" data-position={shown.at.position}>
          <div>
            <h3>State</h3>
            <dl class="facts">
              <dt>Scene</dt>
              <dd class="scrub-scene">
                {state.scene.title || "—"}
                {Object.values(state.scene.aspects).length > 0
                  ? ` (${Object.values(state.scene.aspects)
                      .map((aspect) => aspect.name)
                      .join(", ")})`
                  : ""}
              </dd>
              <dt>Characters</dt>
              <dd>
                {Object.values(state.characters)
                  .map(
                    (c) =>
                      `${c.name}: ${c.fatePoints} FP, stress ${c.stress.physical.filter(Boolean).length}/${c.stress.mental.filter(Boolean).length}`,
                  )
                  .join(" · ") || "—"}
              </dd>
              <dt>NPCs</dt>
              <dd>
                {Object.values(state.world.npcs)
                  .map((npc) => `${npc.name} (${npc.relationship})`)
                  .join(" · ") || "—"}
              </dd>
              <dt>Quests</dt>
              <dd>
                {Object.values(state.quests)
                  .map((quest) => `${quest.title} (${quest.state})`)
                  .join(" · ") || "—"}
              </dd>
              <dt>Locations</dt>
              <dd>
                {Object.values(state.world.locations)
                  .map((location) => location.name)
                  .join(" · ") || "—"}
              </dd>
            </dl>
          </div>
          <div>
            <h3>
              Turn #{shown.at.position}
              {shown.turn ? `: ${shown.turn.kind.replace("_", " ")}` : ""}
            </h3>
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
