import { useEffect, useRef, useState } from "preact/hooks";
import type { Run } from "@loom/client-sdk";
import { defaultUndoTarget, rolledDice } from "@loom/shared";
import { client, rejectedError } from "./api.ts";
import { ActionForm } from "./action-form.tsx";
import { useLive, type LiveState } from "./live.ts";
import { LookBack } from "./look-back.tsx";
import { LiveStatus, LiveTrouble, Recap, Scene, Timeline } from "./timeline.tsx";
import {
  Action,
  count,
  ErrorLine,
  Field,
  formValues,
  Link,
  Section,
  Submit,
  useNewestRead,
  useTask,
} from "./ui.tsx";

/** A player at the table: recap, scene, their sheet, the actions, the live timeline, the run. */
export function PlayScreen({ universeId, runId }: { universeId: string; runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [skills, setSkills] = useState<Record<string, number>>({});
  const load = useTask();
  useEffect(() => {
    void load.run(async () => {
      const found = await client.run(runId);
      setRun(found);
      const character = await client.character(found.characterId, { universeId });
      setSkills(
        character.sheet?.skills ?? (character.character.sheet.skills as Record<string, number>) ?? {},
      );
    });
  }, [runId]);
  if (!run)
    return (
      <main>
        {load.busy ? <p aria-busy="true">Loading your run…</p> : null}
        <ErrorLine error={load.error} />
      </main>
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
  // a refused undo speaks of the timeline as it was: once the player has acted again it is old
  const ownNewest = live.turns.findLast((turn) => turn.runId === run.id)?.position ?? 0;
  // the turn the undo takes, as the server picks it; one that rolled the dice the server refuses
  // (a roll stands), so the page says so in place of the button
  const undoable = defaultUndoTarget(live.turns, { kind: "player", playerId: run.playerId });
  const rolled = live.turns.find((turn) => turn.position === undoable && rolledDice(turn));
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
                {rolled ? (
                  <p class="muted roll-stands">
                    Your latest turn (#{rolled.position}) rolled the dice: a roll stands. Ask your game master
                    to undo it.
                  </p>
                ) : (
                  <Action
                    key={ownNewest}
                    label="Undo my latest turn"
                    busyLabel="Undoing…"
                    disabled={live.status !== "live"}
                    onRun={async () => {
                      const result = await live.session!.undo();
                      if (!result.ok) throw rejectedError(result.rejection);
                    }}
                  />
                )}
              </>
            ) : (
              <p class="muted">{playing ? "Joining…" : `This run is ${run.state}.`}</p>
            )}
          </Section>
          <RunPanel run={run} onRun={newer} />
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

/** Pause, resume, complete with a reason: the run's lifecycle, each a turn on the timeline. */
function RunPanel({ run, onRun }: { run: Run; onRun: (run: Run) => void }) {
  const task = useTask();
  const complete = (event: Event) => {
    const { reason = "retired", other = "" } = formValues(event);
    void task.run(async () => {
      const { run: completed } = await client.completeRun(run.id, reason === "other" ? other : reason, {
        idempotencyKey: crypto.randomUUID(),
      });
      onRun(completed);
    });
  };
  return (
    <Section title="Your run" id="run">
      <p>
        State: <strong class="run-state">{run.state}</strong> · {count(run.turnCount, "turn")} ·{" "}
        {count(run.sessionCount, "session")} · {count(run.milestones, "milestone")}
        {run.completionReason ? ` · ended: ${run.completionReason}` : ""}
      </p>
      <div class="row">
        {run.state === "active" ? (
          <Action
            label="Pause run"
            busyLabel="Pausing…"
            onRun={async () => onRun(await client.pauseRun(run.id))}
          />
        ) : null}
        {run.state === "paused" || run.state === "abandoned" ? (
          <Action
            label="Resume run"
            busyLabel="Resuming…"
            onRun={async () => onRun(await client.resumeRun(run.id))}
          />
        ) : null}
      </div>
      {run.state === "active" || run.state === "paused" ? (
        <form onSubmit={complete} aria-label="Complete the run" class="row">
          <Field label="Reason">
            <select name="reason">
              <option value="retired">retired</option>
              <option value="victory">victory</option>
              <option value="died">died</option>
              <option value="other">other…</option>
            </select>
          </Field>
          <Field label="Other reason">
            <input name="other" maxLength={200} />
          </Field>
          <Submit task={task} label="Complete run" busyLabel="Completing…" />
        </form>
      ) : (
        <p>
          <Link href="/">See your progression and unlocks</Link>
        </p>
      )}
      <ErrorLine error={task.error} />
    </Section>
  );
}
