import { useEffect, useState } from "preact/hooks";
import type { Delta, Invite, ListedMember, Turn } from "@loom/client-sdk";
import { turnKindSchema } from "@loom/shared";
import { LoomError } from "@loom/client-sdk";
import { authorizedFetch, client } from "./api.ts";
import type { Live } from "./live.ts";
import { Timeline } from "./timeline.tsx";
import { Action, count, ErrorLine, Field, formValues, Submit, useNewestRead, useTask } from "./ui.tsx";

const KINDS = turnKindSchema.options;

/** The GM's timeline: live, or filtered by kind and character and searched in full text (HTTP). */
export function GmTimeline({ universeId, live }: { universeId: string; live: Live }) {
  const task = useTask();
  const [found, setFound] = useState<Turn[] | null>(null);
  const characters = Object.values(live.state?.characters ?? {});
  const search = (event: Event) => {
    const { kind = "", characterId = "", q = "" } = formValues(event);
    if (!kind && !characterId && !q.trim()) {
      setFound(null);
      return;
    }
    void task.run(async () => {
      const page = await client.history(universeId, {
        limit: 100,
        ...(kind ? { kind: kind as Turn["kind"] } : {}),
        ...(characterId ? { characterId } : {}),
        ...(q.trim() ? { q: q.trim() } : {}),
      });
      setFound(page.turns.slice().reverse());
    });
  };
  return (
    <>
      <form class="filters row" onSubmit={search} aria-label="Filter the timeline">
        <Field label="Kind">
          <select name="kind">
            <option value="">any</option>
            {KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {kind.replace("_", " ")}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Character">
          <select name="characterId">
            <option value="">any</option>
            {characters.map((character) => (
              <option key={character.id} value={character.id}>
                {character.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Search">
          <input name="q" type="search" maxLength={200} placeholder="full text" />
        </Field>
        <Submit task={task} label="Filter" busyLabel="Searching…" />
        {found ? (
          <button type="button" onClick={() => setFound(null)}>
            Back to live
          </button>
        ) : null}
      </form>
      <ErrorLine error={task.error} />
      {found ? <p role="status">{count(found.length, "turn")} found (newest 100 at most).</p> : null}
      <Timeline
        live={live}
        turns={found ?? undefined}
        label={found ? "Search results" : "Live timeline"}
        empty={found ? null : undefined}
      />
    </>
  );
}

/** The deltas the advanced retcon field holds, or a coded error saying what is wrong with them. */
function parsedDeltas(raw: string): Delta[] {
  if (!raw.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (caught) {
    throw new LoomError(
      "invalid_message",
      `the deltas are not JSON (${caught instanceof Error ? caught.message : String(caught)})`,
    );
  }
  if (!Array.isArray(parsed)) throw new LoomError("invalid_message", "the deltas must be a JSON array");
  return parsed as Delta[];
}

/**
 * Retcon: a note and the corrections as simple "set path to value" rows, or raw deltas (advanced).
 * A retcon is a turn like any other: the one just recorded can be undone from where it was made.
 */
export function RetconForm({ universeId, live }: { universeId: string; live: Live }) {
  const task = useTask();
  const [advanced, setAdvanced] = useState(false);
  const [done, setDone] = useState<number | null>(null);
  // a new value gives the fields back empty once a retcon is recorded (no second one by accident)
  const [recorded, setRecorded] = useState(0);
  const submit = (event: Event) => {
    const { note = "", path = "", value = "", raw = "" } = formValues(event);
    setDone(null);
    void task.run(async () => {
      let deltas: Delta[] = [];
      if (advanced) deltas = parsedDeltas(raw);
      else if (path.trim()) {
        let parsedValue: unknown = value;
        try {
          parsedValue = JSON.parse(value);
        } catch {
          // plain text stays text
        }
        deltas = [{ op: "set", path: path.trim(), value: parsedValue }];
      }
      const turn = await client.retcon(universeId, note, deltas, { idempotencyKey: crypto.randomUUID() });
      setDone(turn.position);
      setRecorded((n) => n + 1);
    });
  };
  const recordedTurn = done === null ? undefined : live.turns.find((turn) => turn.position === done);
  return (
    <form onSubmit={submit} aria-label="Retcon">
      <div key={recorded}>
        <Field label="Note" hint="what changes in the story, and why">
          <input name="note" required maxLength={2000} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={advanced} onChange={(e) => setAdvanced(e.currentTarget.checked)} />{" "}
          Advanced: raw deltas
        </label>
        {advanced ? (
          <Field
            label="Deltas (JSON)"
            hint='e.g. [{"op":"set","path":"/scene/summary","value":"Fog rolls in"}]'
          >
            <textarea name="raw" rows={4} spellcheck={false} />
          </Field>
        ) : (
          <div class="grid">
            <Field label="Set (JSON Pointer)" hint="optional, e.g. /scene/summary or /world/flags/storm">
              <input name="path" />
            </Field>
            <Field label="To" hint="text, or a JSON value">
              <input name="value" />
            </Field>
          </div>
        )}
      </div>
      <Submit task={task} label="Retcon" busyLabel="Recording retcon…" />
      <ErrorLine error={task.error} />
      {done !== null ? (
        <div class="row retcon-done">
          <p role="status">Retcon recorded as turn #{done}.</p>
          {recordedTurn?.status === "undone" ? (
            <span class="muted">It has been undone.</span>
          ) : (
            <Action
              key={done}
              label={`Undo this retcon (#${done})`}
              busyLabel="Undoing…"
              onRun={() => client.undo(universeId, done, { idempotencyKey: crypto.randomUUID() })}
            />
          )}
        </div>
      ) : null}
    </form>
  );
}

/** How often the members and invites are read again while the console is in view. */
const MEMBERS_EVERY_MS = 10_000;

/** Members (remove, re-admit, add by player id) and invite codes (create, copy link, revoke). */
export function MembersPanel({ universeId, live }: { universeId: string; live: Live }) {
  const load = useTask();
  const [members, setMembers] = useState<ListedMember[]>([]);
  const [invites, setInvites] = useState<Invite[]>([]);
  const [note, setNote] = useState<string | null>(null);
  // reads overlap (the page's first, a timed one, the one after a change made here): only the
  // newest may set the lists, or a slow first read would hide the invite just created
  const reads = useNewestRead();
  const read = () =>
    reads.read(
      () => Promise.all([client.listMembers(universeId), client.listInvites(universeId)]),
      ([m, i]) => {
        setMembers(m);
        setInvites(i);
      },
    );
  const refresh = () => load.run(read);
  // read again when someone joins with a new character (they accepted an invite first)
  const characterCount = Object.keys(live.state?.characters ?? {}).length;
  // (a read already under way began before the change: this one is read anyway, quietly)
  useEffect(() => void (load.busy ? read().catch(() => undefined) : refresh()), [universeId, characterCount]);
  // the room tells its game masters of a change of members (an invite accepted makes no turn)
  const session = live.session;
  useEffect(() => session?.on("members", () => void read().catch(() => undefined)), [session]);
  // and the lists are read again now and then while the page is in view, and when the GM comes
  // back to it: a message can be missed while the connection is down
  useEffect(() => {
    const quietly = () => {
      if (document.visibilityState === "visible") void read().catch(() => undefined);
    };
    const timer = setInterval(quietly, MEMBERS_EVERY_MS);
    addEventListener("focus", quietly);
    document.addEventListener("visibilitychange", quietly);
    return () => {
      clearInterval(timer);
      removeEventListener("focus", quietly);
      document.removeEventListener("visibilitychange", quietly);
    };
  }, [universeId]);
  const names = new Map(Object.values(live.state?.characters ?? {}).map((c) => [c.playerId, c.name]));
  /** "Alex (Mara)": the name the player registered with, and their character's if they have one. */
  const nameOf = (playerId: string) => {
    const registered = members.find((member) => member.playerId === playerId)?.playerName;
    const character = names.get(playerId);
    if (registered && character) return `${registered} (${character})`;
    return registered ?? character ?? `player ${playerId.slice(0, 8)}`;
  };
  // a branch can become one player's own timeline (its only member; the others are let go)
  const branch = Boolean(live.state?.parentId);
  const add = useTask();
  const addMember = (event: Event) => {
    const form = event.currentTarget as HTMLFormElement;
    const { playerId = "" } = formValues(event);
    void add.run(async () => {
      await client.addMember(universeId, playerId.trim());
      form.reset();
      setNote(`${nameOf(playerId.trim())} is a member.`);
      await read();
    });
  };
  const link = (code: string) => `${location.origin}/invite/${code}`;
  const open = invites.filter((invite) => !invite.revokedAt);
  const current = members.filter((member) => !member.removedAt);
  // a branch handed over (or already so): its only member, no invite open, is offered it no more
  const solo = current.length === 1 && open.length === 0;
  return (
    <>
      <div class="row">
        <Action
          label="Create invite"
          busyLabel="Creating invite…"
          onRun={async () => {
            await client.createInvite(universeId);
            await read();
          }}
        />
        <Action label="Read again" busyLabel="Reading…" onRun={read} />
      </div>
      {load.busy ? <span aria-busy="true"> loading…</span> : null}
      <ErrorLine error={load.error} />
      <ul class="invites" aria-label="Invites">
        {open.map((invite) => (
          <li key={invite.code}>
            <code class="invite-code">{invite.code}</code>{" "}
            <input
              readOnly
              value={link(invite.code)}
              aria-label="Invite link"
              onFocus={(e) => e.currentTarget.select()}
            />{" "}
            <CopyButton text={link(invite.code)} />{" "}
            <span class="muted">
              used {invite.uses}
              {invite.maxUses ? `/${invite.maxUses}` : ""}
            </span>{" "}
            <Action
              label="Revoke"
              busyLabel="Revoking…"
              confirm={{
                question: `Revoke invite ${invite.code}? Its link stops working; the members it brought stay.`,
                yes: `Yes, revoke ${invite.code}`,
              }}
              onRun={async () => {
                await client.revokeInvite(universeId, invite.code);
                await read();
              }}
            />
          </li>
        ))}
      </ul>
      <h3>Members</h3>
      <ul class="members" aria-label="Members">
        {members.length === 0 ? <li class="muted">No members yet.</li> : null}
        {members.map((member) => (
          <li key={member.playerId} data-player={member.playerId}>
            <strong>{member.playerName}</strong>{" "}
            <span class="muted">{names.get(member.playerId) ?? "no character yet"}</span>{" "}
            <code>{member.playerId}</code> {member.removedAt ? <span class="badge">removed</span> : null}{" "}
            {member.removedAt ? (
              <Action
                label="Re-admit"
                busyLabel="Re-admitting…"
                onRun={async () => {
                  await client.addMember(universeId, member.playerId);
                  setNote(`${nameOf(member.playerId)} is a member again.`);
                  await read();
                }}
              />
            ) : (
              <>
                <Action
                  label="Remove"
                  busyLabel="Removing…"
                  confirm={{
                    question: `Remove ${nameOf(member.playerId)}? Their connections close now, and they may no longer read, watch or play here until re-admitted.`,
                    yes: `Yes, remove ${nameOf(member.playerId)}`,
                  }}
                  onRun={async () => {
                    await client.removeMember(universeId, member.playerId);
                    setNote(`${nameOf(member.playerId)} was removed.`);
                    await read();
                  }}
                />
                {branch && solo ? (
                  <span class="muted solo">their solo timeline</span>
                ) : branch ? (
                  <Action
                    label="Hand over as their solo timeline"
                    busyLabel="Handing over…"
                    confirm={{
                      question: `Hand this branch to ${nameOf(member.playerId)}? They become its only member: every other member is let go and disconnected, open invites are revoked, and it turns private.`,
                      yes: `Yes, hand it to ${nameOf(member.playerId)}`,
                    }}
                    onRun={async () => {
                      await client.handOver(universeId, member.playerId);
                      setNote(
                        `This branch is now ${nameOf(member.playerId)}'s solo timeline: they can start a run here from their list of universes.`,
                      );
                      await read();
                    }}
                  />
                ) : null}
              </>
            )}
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={addMember} aria-label="Add a member">
        <Field label="Add a player by id" hint="the id a player sees beside their name at the top">
          <input name="playerId" required maxLength={64} />
        </Field>
        <Submit task={add} label="Add member" busyLabel="Adding…" />
      </form>
      <ErrorLine error={add.error} />
      {note ? (
        <p role="status" class="tool-result">
          {note}
        </p>
      ) : null}
    </>
  );
}

/** Copies an invite link for the GM to paste where the table talks; says whether it worked. */
function CopyButton({ text }: { text: string }) {
  const [said, setSaid] = useState<string | null>(null);
  useEffect(() => {
    if (!said) return;
    const timer = setTimeout(() => setSaid(null), 4_000);
    return () => clearTimeout(timer);
  }, [said]);
  return (
    <>
      <button
        type="button"
        onClick={() =>
          // the clipboard is there only on a secure origin (https, or this machine)
          void (navigator.clipboard?.writeText(text) ?? Promise.reject(new Error("no clipboard"))).then(
            () => setSaid("Link copied."),
            () => setSaid("The browser refused to copy: select the link and copy it yourself."),
          )
        }
      >
        Copy link
      </button>
      {said ? (
        <span role="status" class="muted">
          {said}
        </span>
      ) : null}
    </>
  );
}

/** The whole timeline as a JSON file, read page by page (the GM's view: every turn, whole). */
const EXPORTS = {
  jsonl: {
    label: "JSONL (every turn, delta and snapshot)",
    extension: "jsonl",
    type: "application/x-ndjson",
  },
  markdown: { label: "Markdown (the story)", extension: "md", type: "text/markdown" },
} as const;
type ExportFormat = keyof typeof EXPORTS;

/**
 * A file name from a universe's name, in any script: its letters and digits, the rest one dash
 * ("Ночь над заливом 🌙" → "Ночь-над-заливом").
 */
function fileName(name: string): string {
  return name.replace(/[^\p{L}\p{N}\p{M}_]+/gu, "-").replace(/^-+|-+$/g, "") || "universe";
}

/**
 * A fetch that failed without an answer (a browser's bare "Failed to fetch", or "network error"
 * mid-stream) as the coded error every other request gives.
 */
function unreached(error: unknown, path: string): unknown {
  if (!(error instanceof TypeError)) return error;
  return new LoomError("unavailable", `GET ${path}: the server could not be reached (${error.message})`);
}

/**
 * Downloads GET /export, streamed: the server writes the file a page of turns at a time and the
 * page counts what has arrived (turn lines of a JSONL file, bytes of a Markdown one) against the
 * head while it does. The file is the server's, as the caller may see it (a GM's holds everything).
 */
export function ExportTimeline({
  universeId,
  name,
  head,
}: {
  universeId: string;
  name: string;
  head: number;
}) {
  const task = useTask();
  const [progress, setProgress] = useState<string | null>(null);
  const download = (format: ExportFormat) =>
    task.run(async () => {
      setProgress("Asking the server for the file…");
      const path = `/api/universes/${encodeURIComponent(universeId)}/export?format=${format}`;
      try {
        await save(format, path);
      } catch (error) {
        // what it said it was doing is over: the error below says why
        setProgress(null);
        throw unreached(error, path);
      }
    });
  const save = async (format: ExportFormat, path: string) => {
    const response = await authorizedFetch(path);
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => null)) as {
        error?: { code: string; message: string };
      } | null;
      throw new LoomError(
        body?.error?.code ?? "http_error",
        body?.error?.message ?? response.statusText,
        response.status,
      );
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parts: string[] = [];
    let partial = "";
    let turns = 0;
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      const text = decoder.decode(value, { stream: true });
      parts.push(text);
      if (format === "jsonl") {
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith('{"type":"turn"')) turns++;
        setProgress(`${turns} of ${head} turns received (${Math.round(bytes / 1024)} KB)…`);
      } else setProgress(`${Math.round(bytes / 1024)} KB received…`);
    }
    parts.push(decoder.decode());
    const blob = new Blob(parts, { type: EXPORTS[format].type });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${fileName(name)}.${EXPORTS[format].extension}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    setProgress(
      format === "jsonl"
        ? `${count(turns, "turn")} exported (${Math.round(bytes / 1024)} KB).`
        : `The story exported (${Math.round(bytes / 1024)} KB).`,
    );
  };
  return (
    <div class="row">
      {(Object.keys(EXPORTS) as ExportFormat[]).map((format) => (
        <button
          key={format}
          type="button"
          onClick={() => void download(format)}
          disabled={task.busy}
          aria-busy={task.busy}
        >
          Download {EXPORTS[format].label}
        </button>
      ))}
      {progress ? <span role="status">{progress}</span> : null}
      <ErrorLine error={task.error} />
    </div>
  );
}
