import { useEffect, useState } from "preact/hooks";
import type { Delta, Invite, Member, Turn } from "@loom/client-sdk";
import { turnKindSchema } from "@loom/shared";
import { LoomError } from "@loom/client-sdk";
import { authorizedFetch, client } from "./api.ts";
import type { Live } from "./live.ts";
import { Timeline } from "./timeline.tsx";
import { Action, count, ErrorLine, Field, formValues, Submit, useTask } from "./ui.tsx";

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
      <Timeline live={live} turns={found ?? undefined} label={found ? "Search results" : "Live timeline"} />
    </>
  );
}

/** Retcon: a note and the corrections as simple "set path to value" rows, or raw deltas (advanced). */
export function RetconForm({ universeId }: { universeId: string }) {
  const task = useTask();
  const [advanced, setAdvanced] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const submit = (event: Event) => {
    const { note = "", path = "", value = "", raw = "" } = formValues(event);
    void task.run(async () => {
      let deltas: Delta[] = [];
      if (advanced) {
        const parsed: unknown = raw.trim() ? JSON.parse(raw) : [];
        if (!Array.isArray(parsed)) throw new Error("invalid_message: deltas must be a JSON array");
        deltas = parsed as Delta[];
      } else if (path.trim()) {
        let parsedValue: unknown = value;
        try {
          parsedValue = JSON.parse(value);
        } catch {
          // plain text stays text
        }
        deltas = [{ op: "set", path: path.trim(), value: parsedValue }];
      }
      const turn = await client.retcon(universeId, note, deltas, { idempotencyKey: crypto.randomUUID() });
      setDone(`Retcon recorded as turn #${turn.position}.`);
    });
  };
  return (
    <form onSubmit={submit} aria-label="Retcon">
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
      <Submit task={task} label="Retcon" busyLabel="Recording retcon…" />
      <ErrorLine error={task.error} />
      {done ? <p role="status">{done}</p> : null}
    </form>
  );
}

/** Members (remove, re-admit, add by player id) and invite codes (create, copy link, revoke). */
export function MembersPanel({ universeId, live }: { universeId: string; live: Live }) {
  const load = useTask();
  const [members, setMembers] = useState<Member[]>([]);
  const [invites, setInvites] = useState<Invite[]>([]);
  const refresh = () =>
    load.run(async () => {
      const [m, i] = await Promise.all([client.listMembers(universeId), client.listInvites(universeId)]);
      setMembers(m);
      setInvites(i);
    });
  // read again when someone joins with a new character (they accepted an invite first)
  const characterCount = Object.keys(live.state?.characters ?? {}).length;
  useEffect(() => void refresh(), [universeId, characterCount]);
  const names = new Map(Object.values(live.state?.characters ?? {}).map((c) => [c.playerId, c.name]));
  // a branch can become one player's own timeline (its only member; the others are let go)
  const branch = Boolean(live.state?.parentId);
  const add = useTask();
  const addMember = (event: Event) => {
    const { playerId = "" } = formValues(event);
    void add.run(async () => {
      await client.addMember(universeId, playerId.trim());
      await refresh();
    });
  };
  const link = (code: string) => `${location.origin}/invite/${code}`;
  return (
    <>
      <Action
        label="Create invite"
        busyLabel="Creating invite…"
        onRun={async () => {
          await client.createInvite(universeId);
          await refresh();
        }}
      />
      {load.busy ? <span aria-busy="true"> loading…</span> : null}
      <ErrorLine error={load.error} />
      <ul class="invites" aria-label="Invites">
        {invites
          .filter((invite) => !invite.revokedAt)
          .map((invite) => (
            <li key={invite.code}>
              <code class="invite-code">{invite.code}</code>{" "}
              <input
                readOnly
                value={link(invite.code)}
                aria-label="Invite link"
                onFocus={(e) => e.currentTarget.select()}
              />{" "}
              <span class="muted">
                used {invite.uses}
                {invite.maxUses ? `/${invite.maxUses}` : ""}
              </span>{" "}
              <Action
                label="Revoke"
                busyLabel="Revoking…"
                onRun={async () => {
                  await client.revokeInvite(universeId, invite.code);
                  await refresh();
                }}
              />
            </li>
          ))}
      </ul>
      <h3>Members</h3>
      <ul class="members" aria-label="Members">
        {members.length === 0 ? <li class="muted">No members yet.</li> : null}
        {members.map((member) => (
          <li key={member.playerId}>
            {names.get(member.playerId) ?? "no character yet"} <code>{member.playerId}</code>{" "}
            {member.removedAt ? <span class="badge">removed</span> : null}{" "}
            {member.removedAt ? (
              <Action
                label="Re-admit"
                onRun={async () => (await client.addMember(universeId, member.playerId), refresh())}
              />
            ) : (
              <>
                <Action
                  label="Remove"
                  busyLabel="Removing…"
                  onRun={async () => (await client.removeMember(universeId, member.playerId), refresh())}
                />
                {branch ? (
                  <Action
                    label="Hand over as their solo timeline"
                    busyLabel="Handing over…"
                    onRun={async () => (await client.handOver(universeId, member.playerId), refresh())}
                  />
                ) : null}
              </>
            )}
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={addMember} aria-label="Add a member">
        <Field label="Add a player by id">
          <input name="playerId" required maxLength={64} />
        </Field>
        <Submit task={add} label="Add member" busyLabel="Adding…" />
      </form>
      <ErrorLine error={add.error} />
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
      link.download = `${name.replace(/[^A-Za-z0-9_-]+/g, "-") || "universe"}.${EXPORTS[format].extension}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      setProgress(
        format === "jsonl"
          ? `${count(turns, "turn")} exported (${Math.round(bytes / 1024)} KB).`
          : `The story exported (${Math.round(bytes / 1024)} KB).`,
      );
    });
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
