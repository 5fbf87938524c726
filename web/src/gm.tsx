import { useEffect, useState } from "preact/hooks";
import type { SnapshotInfo, Turn } from "@loom/client-sdk";
import { defaultUndoTarget, POSITION_MAX } from "@loom/shared";
import { client, rejectedError, storedLogin } from "./api.ts";
import { ActionForm } from "./action-form.tsx";
import { CharacterLimitsForm } from "./character-limits.tsx";
import { GmCommands } from "./gm-commands.tsx";
import { ExportTimeline, GmTimeline, MembersPanel, RetconForm } from "./gm-table.tsx";
import { useLive, type Live } from "./live.ts";
import { navigate } from "./router.ts";
import { useBookmarks } from "./bookmarks.tsx";
import { Scrubber } from "./scrubber.tsx";
import { LiveStatus, LiveTrouble, proseToCome, Refused, refusedSeat, Scene } from "./timeline.tsx";
import {
  Action,
  count,
  Field,
  formValues,
  Link,
  Section,
  Submit,
  ErrorLine,
  useNewestRead,
  useTask,
} from "./ui.tsx";

/**
 * The scrubbed position a reload keeps (`?at=`), or null when the page follows the head. One past
 * every position a timeline may have is past this one's head too: the head, as any past it is.
 */
function positionInAddress(): number | null {
  const at = new URLSearchParams(location.search).get("at");
  if (at === null || !/^\d+$/.test(at)) return null;
  const position = Number(at);
  return position > POSITION_MAX ? null : position;
}

/** The console's sections, for a phone's long page and for the keyboard (skip links). */
const SECTIONS: Array<[string, string]> = [
  ["table", "Table"],
  ["scrubber", "Scrubber"],
  ["commands", "Commands"],
  ["hidden-roll", "Hidden roll"],
  ["retcon", "Retcon"],
  ["members", "Members"],
  ["new-characters", "New characters"],
  ["export", "Export"],
  ["timeline", "Timeline"],
];

/** The game master's console for one universe. */
export function GmScreen({ universeId }: { universeId: string }) {
  const live = useLive(universeId, "gm");
  const head = live.state?.head ?? 0;
  const [position, setPosition] = useState<number | null>(positionInAddress);
  const following = position === null;
  // an address past the head (typed, or a link's) shows the head; until the head is known, the
  // start, which every timeline has
  const shownPosition = position === null ? head : Math.min(position, head);
  const bookmarks = useBookmarks(universeId, head);
  // a snapshot taken here shows in the list, if it is open, without asking for it again
  const [snapshotsTaken, setSnapshotsTaken] = useState(0);
  const narrating = live.turns.filter(
    (turn) => proseToCome(turn, live) && !turn.narration && !live.narration.get(turn.position)?.done,
  ).length;
  // a reload in the middle of an evening comes back to the position the GM was looking at
  useEffect(() => {
    const address = position === null ? location.pathname : `${location.pathname}?at=${position}`;
    if (address !== location.pathname + location.search) history.replaceState(null, "", address);
  }, [position]);
  // pinned at the head (or past it, from an address), the page follows it once it knows where it is
  useEffect(() => {
    if (live.state && position !== null && position >= head) setPosition(null);
  }, [live.state !== null, head]);

  if (refusedSeat(live)) return <Refused error={live.error} title="Game master console" />;
  return (
    <main class="gm">
      <header class="bar">
        <Link href="/">← Universes</Link>
        <h1>{live.state?.name ?? "…"} · game master</h1>
        <LiveStatus live={live} />
      </header>
      <nav class="sections" aria-label="Console sections">
        {SECTIONS.map(([id, label]) => (
          <a key={id} href={`#${id}`}>
            {label}
          </a>
        ))}
      </nav>
      <LiveTrouble live={live} />
      <BranchLine live={live} />
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
              turnStatus={live.turns.find((turn) => turn.position === shownPosition)?.status}
            />
            <p class="muted">
              {following
                ? "Following the head as turns arrive."
                : "Pinned: drag to the end to follow the head again."}
            </p>
            <HistoryTools
              universeId={universeId}
              live={live}
              position={shownPosition}
              onSnapshot={() => setSnapshotsTaken((n) => n + 1)}
            />
          </Section>
          <Section title="Snapshots" id="snapshots">
            <SnapshotList universeId={universeId} onPosition={setPosition} taken={snapshotsTaken} />
          </Section>
          <Section title="Commands" id="commands">
            <GmCommands live={live} universeId={universeId} />
          </Section>
          <Section title="Hidden roll" id="hidden-roll">
            <HiddenRoll live={live} universeId={universeId} />
          </Section>
          <Section title="Retcon" id="retcon">
            <RetconForm universeId={universeId} live={live} />
          </Section>
          <Section title="Members and invites" id="members">
            <MembersPanel universeId={universeId} live={live} />
          </Section>
          <Section title="New characters" id="new-characters">
            <CharacterLimitsForm universeId={universeId} />
          </Section>
          <Section title="Export" id="export">
            <ExportTimeline universeId={universeId} name={live.state?.name ?? "universe"} head={head} />
          </Section>
        </div>
        <Section title="Timeline" class="story" id="timeline">
          <GmTimeline universeId={universeId} live={live} />
        </Section>
      </div>
    </main>
  );
}

/** On a branch: which universe it branched from, where, and the way back to that one's console. */
function BranchLine({ live }: { live: Live }) {
  const parentId = live.state?.parentId ?? "";
  const [parentName, setParentName] = useState<string | null>(null);
  useEffect(() => {
    setParentName(null);
    if (!parentId) return;
    void client.getUniverse(parentId).then(
      (parent) => setParentName(parent.name),
      () => undefined, // the line names the parent by its id instead
    );
  }, [parentId]);
  if (!parentId || !live.state) return null;
  return (
    <p class="branch-line" role="note">
      A branch of <Link href={`/u/${encodeURIComponent(parentId)}/gm`}>{parentName ?? parentId}</Link> at #
      {live.state.branchPosition}: turns up to #{live.state.branchPosition} are shared with it and are undone
      there, not here.
    </p>
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

/** Who made a turn, as the table knows them. */
function whose(turn: Turn, live: Live): string {
  const character = turn.characterId ? live.state?.characters?.[turn.characterId]?.name : undefined;
  if (turn.actor === "gm") return character ? `the game master, for ${character}` : "the game master";
  if (turn.actor === "system") return "the server";
  return character ?? "a player";
}

/** A turn in a line of a question: its position, kind, maker and what happened. */
function describeTurn(turn: Turn, live: Live): string {
  const what = turn.events[0]?.description ?? "";
  return `#${turn.position} (${turn.kind.replace(/_/g, " ")} by ${whose(turn, live)}${
    what ? `: “${what.length > 80 ? `${what.slice(0, 79)}…` : what}”` : ""
  })`;
}

/** Why a turn cannot be undone, as the server would refuse it; null when it may be. */
function notUndoable(turn: Turn | undefined, position: number, live: Live): string | null {
  const branchPosition = live.state?.parentId ? live.state.branchPosition : null;
  if (position < 1) return "Position 0 is the start: there is no turn to undo.";
  if (branchPosition !== null && position <= branchPosition)
    return `Turn #${position} is before this branch's start: undo it in the parent.`;
  if (!turn) return null;
  if (turn.status === "undone") return `Turn #${position} is already undone.`;
  if (turn.kind === "undo") return `Turn #${position} is an undo, which cannot be undone.`;
  if (turn.kind === "session_start" || turn.kind === "session_end")
    return `Turn #${position} opens or closes a session and cannot be undone.`;
  return null;
}

/** Undo, branch at the scrubbed position, snapshot. */
function HistoryTools({
  universeId,
  live,
  position,
  onSnapshot,
}: {
  universeId: string;
  live: Live;
  position: number;
  onSnapshot: () => void;
}) {
  const branch = useTask();
  const [note, setNote] = useState<string | null>(null);
  const me = storedLogin()?.me.id ?? null;
  // the turn an undo without a position takes: what the server decides the same way. On a branch
  // one before its start is the parent's to undo: the button says so as the scrubbed one does
  const newest = defaultUndoTarget(live.turns, { kind: "gm", playerId: me });
  const latestRefusal =
    newest === null
      ? null
      : notUndoable(
          live.turns.find((turn) => turn.position === newest),
          newest,
          live,
        );
  const latest = latestRefusal === null ? newest : null;
  const latestTurn = live.turns.find((turn) => turn.position === latest);
  // undoing one's own latest command needs no question; anyone else's turn cannot be brought back
  const ownLatest = latestTurn?.actor === "gm" && latestTurn.playerId === me;
  const scrubbed = live.turns.find((turn) => turn.position === position);
  const scrubbedRefusal = notUndoable(scrubbed, position, live);
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
          // a refusal speaks of the timeline as it was: a new turn makes it old news
          key={`latest ${live.turns.at(-1)?.position ?? 0}`}
          label={latest === null ? "Undo latest turn" : `Undo latest turn (#${latest})`}
          busyLabel="Undoing…"
          disabled={live.status !== "live" || latest === null}
          title={latest === null ? (latestRefusal ?? "No turn here may be undone yet") : undefined}
          confirm={
            latestTurn && !ownLatest
              ? {
                  question: `Undo turn ${describeTurn(latestTurn, live)}? Its changes are reversed for everyone, and an undo cannot itself be undone.`,
                  yes: `Yes, undo turn #${latestTurn.position}`,
                }
              : null
          }
          onRun={async () => {
            // the turn the button named, not whichever is latest by the time the server hears it
            const result = await live.session!.undo(latest ?? undefined);
            if (!result.ok) throw rejectedError(result.rejection);
            setNote(
              `Turn #${String(result.turn.input.targetPosition)} undone (turn #${result.turn.position}).`,
            );
          }}
        />
        <Action
          key={`at ${position} ${scrubbed?.status ?? ""}`}
          label={`Undo turn #${position}`}
          busyLabel="Undoing…"
          disabled={scrubbedRefusal !== null}
          title={scrubbedRefusal ?? undefined}
          confirm={{
            question: `Undo turn ${scrubbed ? describeTurn(scrubbed, live) : `#${position}`}? Its changes are reversed for everyone from now on, and an undo cannot itself be undone.`,
            yes: `Yes, undo turn #${position}`,
          }}
          onRun={async () => {
            const turn = await client.undo(universeId, position, { idempotencyKey: crypto.randomUUID() });
            setNote(`Turn #${position} undone (turn #${turn.position}).`);
          }}
        />
        <Action
          label="Snapshot"
          busyLabel="Taking snapshot…"
          onRun={async () => {
            setNote(`Snapshot taken at #${await client.snapshot(universeId)}.`);
            onSnapshot();
          }}
        />
      </div>
      {latestRefusal && latestRefusal !== scrubbedRefusal ? <p class="muted">{latestRefusal}</p> : null}
      {latest === null && latestRefusal === null && live.status === "live" ? (
        <p class="muted">Nothing to undo yet: no turn here may be undone.</p>
      ) : null}
      {scrubbedRefusal ? <p class="muted">{scrubbedRefusal}</p> : null}
      <form class="row" onSubmit={submitBranch} aria-label="Branch">
        <Field label="Name of the branch">
          <input name="name" placeholder="optional" maxLength={200} />
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

function HiddenRoll({ live, universeId }: { live: Live; universeId: string }) {
  const characters = Object.values(live.state?.characters ?? {});
  const [characterId, setCharacterId] = useState("");
  const character = characters.find((c) => c.id === characterId) ?? characters[0];
  // the character's skills, for the skill field's suggestions (the synced sheet has none)
  const [skills, setSkills] = useState<{ of: string; names: string[] } | null>(null);
  const id = character?.id;
  useEffect(() => {
    if (!id) return;
    let current = true;
    void client.character(id, { universeId }).then(
      (read) => {
        const rated = (read.sheet?.skills ?? read.character.sheet.skills) as Record<string, number>;
        if (current)
          setSkills({
            of: id,
            names: Object.entries(rated)
              .sort((a, b) => b[1] - a[1])
              .map(([name]) => name),
          });
      },
      () => undefined, // the skill is typed instead
    );
    return () => {
      current = false;
    };
  }, [id, universeId]);
  if (!character) return <p class="muted">A hidden roll is made for a character: none has joined yet.</p>;
  const names = skills?.of === character.id ? skills.names : [];
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
        // what was typed for one character's roll is not another's
        key={character.id}
        live={live}
        characterId={character.id}
        skills={names}
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
  taken,
}: {
  universeId: string;
  onPosition: (position: number) => void;
  /** Counts the snapshots taken from this page: a list on screen is read again after each. */
  taken: number;
}) {
  const [snapshots, setSnapshots] = useState<SnapshotInfo[] | null>(null);
  const listed = snapshots !== null;
  // reads overlap (two snapshots taken in a row): the list of the newest read stands
  const reads = useNewestRead();
  const read = () => reads.read(() => client.snapshots(universeId), setSnapshots);
  useEffect(() => {
    if (!listed || taken === 0) return;
    void read().catch(() => undefined);
  }, [taken]);
  const [all, setAll] = useState(false);
  const newest = snapshots ? [...snapshots].reverse() : [];
  const shown = all ? newest : newest.slice(0, SNAPSHOTS_SHOWN);
  return (
    <>
      <Action
        label={snapshots ? "Read the snapshots again" : "List the snapshots"}
        busyLabel="Reading snapshots…"
        onRun={read}
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
