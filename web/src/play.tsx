import { useEffect, useRef, useState } from "preact/hooks";
import type { Run } from "@loom/client-sdk";
import { CloseCode } from "@loom/shared";
import { client } from "./api.ts";
import { ActionForm } from "./action-form.tsx";
import { useLive, type LiveState } from "./live.ts";
import { LookBack } from "./look-back.tsx";
import { PlayerUndo } from "./player-undo.tsx";
import { LiveStatus, LiveTrouble, Recap, Refused, Scene, Timeline } from "./timeline.tsx";
import { Action, count, Field, Link, Section, useNewestRead, useTask } from "./ui.tsx";

/** A player at the table: recap, scene, their sheet, the actions, the live timeline, the run. */
export function PlayScreen({ universeId, runId }: { universeId: string; runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [skills, setSkills] = useState<Record<string, number>>({});
  const load = useTask();
  useEffect(() => {
    void load.run(async () => {
      const found = await client.run(runId);
      setRun(found);
      // refused below: its character is not read through a universe it is not in
      if (found.universeId !== universeId) return;
      const character = await client.character(found.characterId, { universeId });
      setSkills(
        character.sheet?.skills ?? (character.character.sheet.skills as Record<string, number>) ?? {},
      );
    });
  }, [universeId, runId]);
  if (!run) {
    // not the player's run (unknown_run, not_your_character): nothing of the table would work
    if (load.error) return <Refused error={load.error} title="Playing" />;
    return <main>{load.busy ? <p aria-busy="true">Loading your run…</p> : null}</main>;
  }
  // the address names another universe than the run's: the table would join one and show the
  // other's run, its buttons acting on it
  if (run.universeId !== universeId)
    return (
      <Refused
        error={`This run is not in the universe of this address (${universeId}): it is played in its own.`}
        title="Playing"
      >
        <p>
          <Link href={`/u/${encodeURIComponent(run.universeId)}/play/${encodeURIComponent(run.id)}`}>
            Play it in its own universe
          </Link>
        </p>
      </Refused>
    );
  return <Table universeId={universeId} run={run} skills={skills} onRun={setRun} />;
}

function Table(props: {
  universeId: string;
  run: Run;
  skills: Record<string, number>;
  onRun: (run: Run) => void;
}) {
  const { run } = props;
  const playing = run.state === "active";
  // a player joins with an active run; with a paused or finished one they watch (joining with a
  // paused run would resume it)
  const live = useLive(props.universeId, playing ? "player" : "spectator", playing ? run.id : undefined);
  const me = live.state?.characters?.[run.characterId];
  // the run record (turns, sessions, milestones) is written as turns are persisted: read it again
  // a second after the persisted mark passes a turn the page shows, at most once a second however
  // busy the table (a timer reset at every turn would never fire while others play). Read as a
  // turn arrives, it missed that turn whenever persisting took longer than the wait, and nothing
  // read it again. Follows the newest position, not the turns' count: the page keeps only so many
  // turns, so their count stops growing in a long session.
  const newest = live.turns.at(-1)?.position ?? 0;
  const persisted = Math.min(newest, live.state?.persistedThrough ?? 0);
  const reread = useRef<ReturnType<typeof setTimeout> | null>(null);
  // a read answered after a newer record (the player's pause, say, or a later read) is dropped:
  // taken, it would show the run as it was, and an active run again would seat the page as a player
  const reads = useNewestRead();
  const newer = (changed: Run) => {
    reads.outdate();
    props.onRun(changed);
  };
  useEffect(() => {
    if (reread.current !== null) return;
    reread.current = setTimeout(() => {
      reread.current = null;
      void reads.read(() => client.run(run.id), props.onRun).catch(() => undefined);
    }, 1_000);
  }, [persisted, run.id]);
  // the run ended elsewhere (another tab, the game master): the server closes the seat with
  // RunClosed and no persisted mark follows to read the run by; a lifecycle turn of this run (a
  // pause, a resume, an end) is read at once too, and again once its record is likely written
  const closedForRun = live.closedWith === CloseCode.RunClosed;
  const lifecycle =
    live.turns.findLast(
      (turn) =>
        (turn.input.kind === "run_end" || turn.input.kind === "run_pause") && turn.input.runId === run.id,
    )?.position ?? 0;
  useEffect(() => {
    if (!closedForRun && lifecycle === 0) return;
    const read = () => void reads.read(() => client.run(run.id), props.onRun).catch(() => undefined);
    read();
    const again = setTimeout(read, 1_500);
    return () => clearTimeout(again);
  }, [closedForRun, lifecycle]);
  useEffect(
    () => () => {
      if (reread.current !== null) clearTimeout(reread.current);
    },
    [],
  );
  const skillNames = Object.entries(props.skills)
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name);
  return (
    <main>
      <header class="bar">
        <Link href="/">← Universes</Link>
        <h1>{live.state?.name ?? "…"}</h1>
        <LiveStatus live={live} />
      </header>
      <LiveTrouble live={live} />
      <Recap live={live} />
      <div class="columns">
        <div>
          <Section title="Scene">
            <Scene live={live} />
          </Section>
          <Section title="Your character" id="sheet">
            {me ? (
              <Sheet character={me} skills={props.skills} />
            ) : (
              <p class="muted">Joins the story with your first session.</p>
            )}
          </Section>
          <Section title="Your turn">
            {playing && me ? (
              <>
                <ActionForm
                  live={live}
                  characterId={run.characterId}
                  skills={skillNames}
                  ownAspects={[me.highConcept, me.trouble, ...me.aspects].filter(Boolean)}
                />
                <PlayerUndo live={live} playerId={run.playerId} />
              </>
            ) : (
              <p class="muted">{playing ? "Joining…" : `This run is ${run.state}.`}</p>
            )}
          </Section>
          <RunPanel run={run} onRun={newer} ended={closedForRun} />
          <Section title="Look back" id="look-back">
            <LookBack
              universeId={props.universeId}
              live={live}
              characterId={run.characterId}
              runId={run.id}
            />
          </Section>
        </div>
        <Section title="Story" class="story">
          <Timeline live={live} label="Story" />
        </Section>
      </div>
    </main>
  );
}

type SheetView = NonNullable<LiveState["characters"]>[string];

function boxes(track: boolean[]): string {
  return track.map((box) => (box ? "☒" : "☐")).join(" ");
}

export function Sheet({ character, skills }: { character: SheetView; skills?: Record<string, number> }) {
  return (
    <dl class="facts sheet" data-character={character.id}>
      <dt>Name</dt>
      <dd>{character.name}</dd>
      <dt>High concept</dt>
      <dd>{character.highConcept}</dd>
      <dt>Trouble</dt>
      <dd>{character.trouble}</dd>
      {character.aspects.length > 0 ? (
        <>
          <dt>Aspects</dt>
          <dd>{character.aspects.join(" · ")}</dd>
        </>
      ) : null}
      <dt>Fate points</dt>
      <dd class="fate-points">{character.fatePoints}</dd>
      <dt>Physical stress</dt>
      <dd
        aria-label={`physical stress ${character.physicalStress.filter(Boolean).length} of ${character.physicalStress.length}`}
      >
        {boxes(character.physicalStress)}
      </dd>
      <dt>Mental stress</dt>
      <dd
        aria-label={`mental stress ${character.mentalStress.filter(Boolean).length} of ${character.mentalStress.length}`}
      >
        {boxes(character.mentalStress)}
      </dd>
      <dt>Consequences</dt>
      <dd>{character.consequences.filter(Boolean).join(" · ") || "none"}</dd>
      {character.takenOut ? (
        <>
          <dt>Status</dt>
          <dd>taken out</dd>
        </>
      ) : null}
      {skills && Object.keys(skills).length > 0 ? (
        <>
          <dt>Skills</dt>
          <dd>
            {Object.entries(skills)
              .sort((a, b) => b[1] - a[1])
              .map(([name, rating]) => `${name} +${rating}`)
              .join(" · ")}
          </dd>
        </>
      ) : null}
      {character.privateNotes ? (
        <>
          <dt>Private notes</dt>
          <dd>{character.privateNotes}</dd>
        </>
      ) : null}
    </dl>
  );
}

/** Why a run's completion is given: the choices, and what "other" asks for. */
const REASONS = ["retired", "victory", "died", "other"] as const;

/**
 * Pause, resume, complete with a reason: the run's lifecycle, each a turn on the timeline.
 * `ended`: the server closed the seat because the run is over, before its record says so.
 */
function RunPanel({ run, onRun, ended }: { run: Run; onRun: (run: Run) => void; ended: boolean }) {
  const [reason, setReason] = useState<string>("retired");
  const [other, setOther] = useState("");
  const said = reason === "other" ? other.trim() : reason;
  // the record may still say active for a moment after the server closed the seat for it
  const stale = ended && (run.state === "active" || run.state === "paused");
  const open = (run.state === "active" || run.state === "paused") && !stale;
  return (
    <Section title="Your run" id="run">
      <p>
        State: <strong class="run-state">{stale ? "ended" : run.state}</strong> ·{" "}
        {count(run.turnCount, "turn")} · {count(run.sessionCount, "session")} ·{" "}
        {count(run.milestones, "milestone")}
        {run.completionReason ? ` · ended: ${run.completionReason}` : ""}
      </p>
      <div class="row">
        {run.state === "active" && open ? (
          <Action
            label="Pause run"
            busyLabel="Pausing…"
            onRun={async () => onRun(await client.pauseRun(run.id))}
          />
        ) : null}
        {run.state === "paused" && open ? (
          <Action
            label="Resume run"
            busyLabel="Resuming…"
            onRun={async () => onRun(await client.resumeRun(run.id))}
          />
        ) : null}
        {run.state === "abandoned" ? (
          <Action
            label="Resume run"
            busyLabel="Resuming…"
            onRun={async () => onRun(await client.resumeRun(run.id))}
          />
        ) : null}
      </div>
      {open ? (
        <form onSubmit={(event) => event.preventDefault()} aria-label="Complete the run" class="row">
          <Field label="Reason">
            <select name="reason" value={reason} onChange={(event) => setReason(event.currentTarget.value)}>
              {REASONS.map((choice) => (
                <option key={choice} value={choice}>
                  {choice === "other" ? "other…" : choice}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Other reason" hint={reason === "other" ? "say why the run ends" : undefined}>
            <input name="other" maxLength={200} onInput={(event) => setOther(event.currentTarget.value)} />
          </Field>
          <Action
            label="Complete run"
            busyLabel="Completing…"
            kind="danger"
            check={() =>
              reason === "other" && said === ""
                ? "Say the other reason in “Other reason”, or choose one of the reasons."
                : null
            }
            confirm={{
              question: `Complete this run${said ? ` (${said})` : ""}? You cannot take it back: a completed run is over for good (no resuming it), and only your game master could undo its end.`,
              yes: "Yes, complete the run",
            }}
            onRun={async () => {
              const { run: completed } = await client.completeRun(run.id, said, {
                idempotencyKey: crypto.randomUUID(),
              });
              onRun(completed);
            }}
          />
        </form>
      ) : stale || run.state === "completed" ? (
        <p>
          {stale ? "This run is over. " : ""}
          <Link href="/">See your progression and unlocks</Link>
        </p>
      ) : null}
    </Section>
  );
}
