import { useState } from "preact/hooks";
import type { SnapshotInfo } from "@loom/client-sdk";
import { client, rejectedError } from "./api.ts";
import { ActionForm } from "./action-form.tsx";
import { GmCommands } from "./gm-commands.tsx";
import { ExportTimeline, GmTimeline, MembersPanel, RetconForm } from "./gm-table.tsx";
import { useLive, type Live } from "./live.ts";
import { navigate } from "./router.ts";
import { useBookmarks } from "./bookmarks.tsx";
import { Scrubber } from "./scrubber.tsx";
import { LiveStatus, LiveTrouble, Scene } from "./timeline.tsx";
import { Action, count, Field, formValues, Link, Section, Submit, ErrorLine, useTask } from "./ui.tsx";

/** The game master's console for one universe. */
export function GmScreen({ universeId }: { universeId: string }) {
  const live = useLive(universeId, "gm");
  const head = live.state?.head ?? 0;
  const [position, setPosition] = useState<number | null>(null);
  const following = position === null;
  const shownPosition = position ?? head;
  const bookmarks = useBookmarks(universeId, head);
  const narrating = live.turns.filter(
    (turn) => turn.kind !== "undo" && !live.narration.get(turn.position)?.done,
  ).length;

  return (
    <main class="gm">
      <header class="bar">
        <Link href="/">← Universes</Link>
        <h1>{live.state?.name ?? "…"} · game master</h1>
        <LiveStatus live={live} />
      </header>
      <LiveTrouble live={live} />
      <div class="columns">
        <div>
          <Section title="At the table" id="table">
            <Presence live={live} />
            <p class="muted" role="status">
              Narration: {narrating === 0 ? "every turn told" : `${count(narrating, "turn")} being told`}
            </p>
            <Scene live={live} />
          </Section>
          <Section title="Timeline scrubber" id="scrubber">
            <Scrubber
              universeId={universeId}
              head={head}
              position={shownPosition}
              bookmarks={bookmarks.bookmarks}
              onOlderBookmarks={bookmarks.older}
              onPosition={(next) => setPosition(next >= head ? null : next)}
            />
            <p class="muted">
              {following
                ? "Following the head as turns arrive."
                : "Pinned: drag to the end to follow the head again."}
            </p>
            <HistoryTools universeId={universeId} live={live} position={shownPosition} />
          </Section>
          <Section title="Snapshots" id="snapshots">
            <SnapshotList universeId={universeId} onPosition={setPosition} />
          </Section>
          <Section title="Commands" id="commands">
            <GmCommands live={live} />
          </Section>
          <Section title="Hidden roll" id="hidden-roll">
            <HiddenRoll live={live} />
          </Section>
          <Section title="Retcon" id="retcon">
            <RetconForm universeId={universeId} />
          </Section>
          <Section title="Members and invites" id="members">
            <MembersPanel universeId={universeId} live={live} />
          </Section>
          <Section title="Export" id="export">
            <ExportTimeline universeId={universeId} name={live.state?.name ?? "universe"} head={head} />
          </Section>
        </div>
        <Section title="Timeline" class="story">
          <GmTimeline universeId={universeId} live={live} />
        </Section>
      </div>
    </main>
  );
}

function Presence({ live }: { live: Live }) {
  const characters = Object.values(live.state?.characters ?? {});
  return (
    <ul class="presence" aria-label="Characters">
      {characters.length === 0 ? <li class="muted">No characters yet.</li> : null}
      {characters.map((character) => (
        <li key={character.id} class={character.present ? "present" : "away"}>
          {character.present ? "●" : "○"} {character.name} · {character.fatePoints} FP
          {character.takenOut ? " · taken out" : ""}{" "}
          <span class="muted">{character.present ? "present" : "away"}</span>
        </li>
      ))}
    </ul>
  );
}

/** Undo, branch at the scrubbed position, snapshot. */
function HistoryTools({ universeId, live, position }: { universeId: string; live: Live; position: number }) {
  const branch = useTask();
  const [note, setNote] = useState<string | null>(null);
  const submitBranch = (event: Event) => {
    const { name = "" } = formValues(event);
    void branch.run(async () => {
      const created = await client.branch(universeId, position, name.trim() || undefined, {
        idempotencyKey: crypto.randomUUID(),
      });
      setNote(`Branch "${created.name}" created at #${position}.`);
      navigate(`/u/${created.id}/gm`);
    });
  };
  return (
    <div class="tools">
      <div class="row">
        <Action
          label="Undo latest turn"
          busyLabel="Undoing…"
          disabled={live.status !== "live"}
          onRun={async () => {
            const result = await live.session!.undo();
            if (!result.ok) throw rejectedError(result.rejection);
            setNote(
              `Turn #${String(result.turn.input.targetPosition)} undone (turn #${result.turn.position}).`,
            );
          }}
        />
        <Action
          label={`Undo turn #${position}`}
          busyLabel="Undoing…"
          disabled={position < 1}
          onRun={async () => {
            const turn = await client.undo(universeId, position, { idempotencyKey: crypto.randomUUID() });
            setNote(`Turn #${position} undone (turn #${turn.position}).`);
          }}
        />
        <Action
          label="Snapshot"
          busyLabel="Taking snapshot…"
          onRun={async () => setNote(`Snapshot taken at #${await client.snapshot(universeId)}.`)}
        />
      </div>
      <form class="row" onSubmit={submitBranch} aria-label="Branch">
        <Field label={`Branch at #${position}`}>
          <input name="name" placeholder="name (optional)" maxLength={200} />
        </Field>
        <Submit task={branch} label={`Branch at #${position}`} busyLabel="Branching…" />
      </form>
      <ErrorLine error={branch.error} />
      {note ? (
        <p role="status" class="tool-result">
          {note}
        </p>
      ) : null}
    </div>
  );
}

function HiddenRoll({ live }: { live: Live }) {
  const characters = Object.values(live.state?.characters ?? {});
  const [characterId, setCharacterId] = useState("");
  const character = characters.find((c) => c.id === characterId) ?? characters[0];
  if (!character) return <p class="muted">A hidden roll is made for a character: none has joined yet.</p>;
  return (
    <>
      <Field label="Roll for">
        <select value={character.id} onChange={(e) => setCharacterId(e.currentTarget.value)}>
          {characters.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </Field>
      <ActionForm
        live={live}
        characterId={character.id}
        skills={[]}
        ownAspects={[character.highConcept, character.trouble, ...character.aspects]}
        gm
      />
    </>
  );
}

/** Snapshots shown at first; a long campaign has one every hundred turns. */
const SNAPSHOTS_SHOWN = 20;

/** The timeline's snapshots (GET /snapshots), newest first, each a place to scrub to. */
function SnapshotList({
  universeId,
  onPosition,
}: {
  universeId: string;
  onPosition: (position: number) => void;
}) {
  const [snapshots, setSnapshots] = useState<SnapshotInfo[] | null>(null);
  const [all, setAll] = useState(false);
  const newest = snapshots ? [...snapshots].reverse() : [];
  const shown = all ? newest : newest.slice(0, SNAPSHOTS_SHOWN);
  return (
    <>
      <Action
        label={snapshots ? "Read the snapshots again" : "List the snapshots"}
        busyLabel="Reading snapshots…"
        onRun={async () => setSnapshots(await client.snapshots(universeId))}
      />
      {snapshots ? (
        <ul class="snapshots" aria-label="Snapshots">
          {snapshots.length === 0 ? <li class="muted">No snapshot yet.</li> : null}
          {shown.map((snapshot) => (
            <li key={`${snapshot.storedIn} ${snapshot.position}`}>
              <button type="button" onClick={() => onPosition(snapshot.position)}>
                #{snapshot.position}
              </button>{" "}
              <span class="muted">
                {snapshot.reason.replace(/_/g, " ")} · {snapshot.createdAt.slice(0, 16).replace("T", " ")} ·{" "}
                <code title={snapshot.checksum}>{snapshot.checksum.slice(0, 12)}</code>
                {snapshot.storedIn !== universeId ? " · inherited" : ""}
              </span>
            </li>
          ))}
          {!all && newest.length > SNAPSHOTS_SHOWN ? (
            <li>
              <button type="button" onClick={() => setAll(true)}>
                Show all {newest.length}
              </button>
            </li>
          ) : null}
        </ul>
      ) : null}
    </>
  );
}
