import type { ComponentChildren } from "preact";
import type { Turn } from "@loom/client-sdk";
import { formatRating, formatShifts, isWithheldTurn } from "@loom/shared";
import type { Live } from "./live.ts";
import { Markdown } from "./markdown.tsx";
import { ErrorLine, Link } from "./ui.tsx";

const FACE = { [-1]: "−", 0: "0", 1: "+" } as const;

function dice(faces: readonly number[]): string {
  return faces.map((face) => FACE[face as -1 | 0 | 1]).join(" ");
}

function who(turn: Turn, live: Live): string {
  if (turn.characterId) return live.state?.characters?.[turn.characterId]?.name ?? turn.characterId;
  return turn.actor === "gm" ? "Game master" : turn.actor;
}

/** A roll as the table reads it: skill, dice, total against the opposition, outcome. */
function Roll({ turn }: { turn: Turn }) {
  const roll = turn.resolution;
  if (!roll) return null;
  return (
    <p class="roll">
      {roll.action.replace("_", " ")} with {roll.skill} ({formatRating(roll.rating)}): [{dice(roll.dice)}]
      {roll.invokeBonus ? ` +${roll.invokeBonus} invoked` : ""} → {formatRating(roll.total)} vs{" "}
      {formatRating(roll.opposition)} ({roll.oppositionKind}) ·{" "}
      <strong>{roll.outcome.replaceAll("_", " ")}</strong> ({formatShifts(roll.shifts)})
      {roll.hidden ? " · hidden roll" : ""}
    </p>
  );
}

/**
 * Whether prose for a turn is still to come to this page: none with the server's narrator off, and
 * none of a hidden roll to anyone but a game master; an undo is not told.
 */
export function proseToCome(turn: Turn, live: Live): boolean {
  return turn.kind !== "undo" && live.state?.narrated === true && !isWithheldTurn(turn);
}

export function TurnItem({ turn, live }: { turn: Turn; live: Live }) {
  const told =
    live.narration.get(turn.position) ?? (turn.narration ? { text: turn.narration.text, done: true } : null);
  return (
    <li
      class={`turn ${turn.status === "undone" ? "undone" : ""}`}
      data-position={turn.position}
      data-kind={turn.kind}
    >
      <header>
        <span class="position">#{turn.position}</span> <span class="kind">{turn.kind.replace("_", " ")}</span>{" "}
        <span class="who">{who(turn, live)}</span>
        {turn.status === "undone" ? <span class="badge">undone</span> : null}
      </header>
      <Roll turn={turn} />
      {turn.events.length > 0 ? (
        <ul class="events">
          {turn.events.map((event, index) => (
            <li key={index} class={event.major ? "major" : ""}>
              {event.description}
            </li>
          ))}
        </ul>
      ) : null}
      {told ? (
        <p class={`narration ${told.done ? "done" : "streaming"}`} aria-live="polite">
          {told.text}
          {told.done ? "" : " …"}
        </p>
      ) : proseToCome(turn, live) ? (
        <p class="narration pending">narrating…</p>
      ) : null}
    </li>
  );
}

/**
 * The live timeline, newest first. `empty` is what it says when it has no turn (null: nothing,
 * for a caller that says it already, as a search's "0 turns found").
 */
export function Timeline({
  live,
  turns,
  label = "Timeline",
  empty = "No turns yet.",
}: {
  live: Live;
  turns?: Turn[];
  label?: string;
  empty?: string | null;
}) {
  const shown = [...(turns ?? live.turns)].reverse();
  return (
    <ol class="timeline" aria-label={label}>
      {shown.length === 0 && empty ? <li class="empty">{empty}</li> : null}
      {shown.map((turn) => (
        <TurnItem key={`${turn.position}-${turn.status}`} turn={turn} live={live} />
      ))}
    </ol>
  );
}

export function LiveStatus({ live }: { live: Live }) {
  const state = live.state;
  return (
    <p class="status" role="status">
      {live.status === "joining"
        ? "Joining…"
        : live.status === "live"
          ? "● live"
          : live.status === "unanswered"
            ? "◌ server not answering…"
            : live.status === "reconnecting"
              ? "◌ reconnecting…"
              : live.status === "offline"
                ? "○ offline"
                : "○ disconnected"}
      {state
        ? ` · head #${state.head} · durable through #${state.durableThrough} · persisted through #${state.persistedThrough}`
        : ""}
    </p>
  );
}

/** Why the page is not live, if it is not; while offline, a way to join again without waiting. */
export function LiveTrouble({ live }: { live: Live }) {
  if (!live.error) return null;
  return (
    <div class="live-trouble row">
      <ErrorLine error={live.error} />
      {live.status === "offline" ? (
        <button type="button" onClick={live.rejoin}>
          Rejoin now
        </button>
      ) : null}
    </div>
  );
}

/**
 * Whether the server refused to seat the page for good before it ever was (not a game master of
 * this universe, not a member): nothing of the screen can work, so it shows only why.
 */
export function refusedSeat(live: Live): boolean {
  return live.status === "left" && live.session === null;
}

/** A screen the page will not show (the server refused the seat or the run, or the address is wrong): why, and the way back. */
export function Refused({
  error,
  title,
  children,
}: {
  error: string | null;
  title: string;
  children?: ComponentChildren;
}) {
  return (
    <main>
      <header class="bar">
        <Link href="/">← Universes</Link>
        <h1>{title}</h1>
      </header>
      <ErrorLine error={error} />
      {children}
      <p>
        <Link href="/">Back to your universes</Link>
      </p>
    </main>
  );
}

/** The scene and its situation aspects (free invokes shown as ◆). */
export function Scene({ live }: { live: Live }) {
  const scene = live.state?.scene;
  if (!scene) return null;
  const aspects = Object.values(scene.aspects ?? {});
  return (
    <div class="scene">
      <h3>{scene.title || "No scene yet"}</h3>
      {scene.location ? <p class="muted">{scene.location}</p> : null}
      {scene.summary ? <p>{scene.summary}</p> : null}
      <ul class="aspects" aria-label="Situation aspects">
        {aspects.length === 0 ? <li class="muted">No situation aspects.</li> : null}
        {aspects.map((aspect) => (
          <li key={aspect.id} class="aspect">
            {aspect.name}
            {aspect.freeInvokes > 0 ? ` ${"◆".repeat(aspect.freeInvokes)}` : ""}
            {aspect.boost ? " (boost)" : ""}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Recap({ live }: { live: Live }) {
  const recap = live.recap;
  if (!recap) return null;
  return (
    <details class="recap panel" open>
      <summary>
        <h2>Last time on…</h2>
      </summary>
      <div class="recap-text">
        <Markdown text={recap.text} />
      </div>
    </details>
  );
}
