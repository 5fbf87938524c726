import { useEffect, useRef, useState } from "preact/hooks";
import type { Jump } from "@loom/client-sdk";
import type { Bookmark } from "@loom/shared";
import { client, describeError } from "./api.ts";
import { BookmarkSelect, useBookmarks } from "./bookmarks.tsx";
import type { Live } from "./live.ts";
import { ErrorLine, Field, formValues, Submit, useTask } from "./ui.tsx";

/** A read waits until the slider rests this long, as the GM's scrubber does. */
const SETTLE_MS = 150;

interface SeenCharacter {
  name?: string;
  fatePoints?: number;
  stress?: { physical?: boolean[]; mental?: boolean[] };
}

const boxes = (track: boolean[] | undefined) => (track ?? []).map((box) => (box ? "☒" : "☐")).join("");

/**
 * A player's look back through their universe's history (GET /jump): read-only, and redacted for
 * them by the server (no GM notes, nobody else's private notes, no hidden roll's dice). The
 * bookmarks take them to session starts, scenes, quests, milestones, major events and their own
 * save points; a save point is named at their latest turn. Rewinding for real is a GM's branch.
 */
export function LookBack({
  universeId,
  live,
  characterId,
  runId,
}: {
  universeId: string;
  live: Live;
  characterId: string;
  runId: string;
}) {
  const head = live.state?.head ?? 0;
  const [position, setPosition] = useState<number | null>(null);
  const [seen, setSeen] = useState<Jump | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reading, setReading] = useState(false);
  const asked = useRef(0);
  const bookmarks = useBookmarks(universeId, head);

  useEffect(() => {
    if (position === null) return;
    const ask = ++asked.current;
    setReading(true);
    const timer = setTimeout(() => {
      client.jump(universeId, position).then(
        (answer) => {
          // a slower answer to an older position never replaces a newer one
          if (ask !== asked.current) return;
          setSeen(answer);
          setError(null);
          setReading(false);
        },
        (caught: unknown) => {
          if (ask !== asked.current) return;
          setError(describeError(caught));
          setReading(false);
        },
      );
    }, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [universeId, position]);

  const at = position ?? head;
  const state = seen?.state as
    { scene?: { title?: string }; characters?: Record<string, SeenCharacter> } | undefined;
  const me = state?.characters?.[characterId];
  const turn = seen?.turn ?? null;
  return (
    <div class="look-back">
      <label class="scrub-slider">
        <span>
          Position <output class="look-back-position">{at}</output> of {head}
        </span>
        <input
          type="range"
          min={0}
          max={head}
          step={1}
          value={at}
          aria-valuetext={`position ${at} of ${head}`}
          onInput={(event) => setPosition(Number(event.currentTarget.value))}
        />
      </label>
      <div class="row">
        <BookmarkSelect
          bookmarks={bookmarks.bookmarks}
          onOlder={bookmarks.older}
          onPosition={setPosition}
          position={position}
        />
        {position !== null ? (
          <button type="button" onClick={() => (setPosition(null), setSeen(null))}>
            Back to now
          </button>
        ) : null}
      </div>
      <p class="muted" role="status" aria-busy={reading}>
        {reading ? `Reading position ${at}…` : seen ? `The story as it stood at #${seen.position}` : ""}
      </p>
      <ErrorLine error={error} />
      {seen ? (
        <dl class="facts look-back-view" data-position={seen.position}>
          <dt>Scene</dt>
          <dd>{state?.scene?.title || "—"}</dd>
          {me ? (
            <>
              <dt>{me.name ?? "You"}</dt>
              <dd>
                fate points {me.fatePoints ?? "—"} · physical {boxes(me.stress?.physical)} · mental{" "}
                {boxes(me.stress?.mental)}
              </dd>
            </>
          ) : null}
          <dt>Turn</dt>
          <dd class="look-back-turn">
            {turn
              ? `#${turn.position} ${turn.kind.replace("_", " ")}${turn.status === "undone" ? " (undone)" : ""}: ${
                  turn.narration?.text ?? turn.events.map((event) => event.description).join(" ")
                }`
              : "the beginning"}
          </dd>
        </dl>
      ) : null}
      <SavePoint universeId={universeId} live={live} runId={runId} onSaved={bookmarks.refresh} />
      <SavedPoints universeId={universeId} bookmarks={bookmarks.bookmarks} onForgotten={bookmarks.refresh} />
    </div>
  );
}

/** The player's save points in the pages read so far, each of which they may forget (a player holds only so many). */
function SavedPoints(props: { universeId: string; bookmarks: Bookmark[]; onForgotten: () => void }) {
  const task = useTask();
  const saves = props.bookmarks.filter((mark) => mark.kind === "save_point");
  if (saves.length === 0) return null;
  const forget = (name: string) =>
    void task.run(async () => {
      await client.removeSavePoint(props.universeId, name);
      props.onForgotten();
    });
  return (
    <div class="saved-points">
      <ul aria-label="Your save points">
        {saves.map((mark) => {
          const name = mark.name ?? mark.label;
          return (
            <li key={`${mark.position} ${name}`}>
              #{mark.position} {name}{" "}
              <button
                type="button"
                disabled={task.busy}
                onClick={() => forget(name)}
                aria-label={`Forget ${name}`}
              >
                Forget
              </button>
            </li>
          );
        })}
      </ul>
      <ErrorLine error={task.error} />
    </div>
  );
}

/** Names a save point at the player's latest turn: it joins their bookmarks. */
function SavePoint(props: { universeId: string; live: Live; runId: string; onSaved: () => void }) {
  const { universeId, live, runId } = props;
  const task = useTask();
  const [saved, setSaved] = useState<string | null>(null);
  // the newest turn of the player's run that stands: one undone since (by them or a game master)
  // is no longer in the story to come back to
  const latest = live.turns.findLast((turn) => turn.runId === runId && turn.status === "applied");
  const submit = (event: Event) => {
    const { name = "" } = formValues(event);
    if (!latest) return;
    const form = event.currentTarget as HTMLFormElement;
    void task.run(async () => {
      const save = await client.nameSavePoint(universeId, latest.position, name.trim());
      setSaved(`Saved "${save.name}" at #${save.position}.`);
      props.onSaved();
      form.reset();
    });
  };
  return (
    <form class="row" onSubmit={submit} aria-label="Name a save point">
      <Field label={latest ? `Save point at your turn #${latest.position}` : "Save point"}>
        <input name="name" required maxLength={80} placeholder="a name to find it by" disabled={!latest} />
      </Field>
      <Submit task={task} label="Name save point" busyLabel="Saving…" />
      <ErrorLine error={task.error} />
      {saved ? (
        <p role="status" class="tool-result">
          {saved}
        </p>
      ) : null}
    </form>
  );
}
