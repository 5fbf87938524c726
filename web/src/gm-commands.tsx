import { client, fieldText, rejectedError } from "./api.ts";
import { useEffect, useRef, useState } from "preact/hooks";
import type { CommandInput, Turn } from "@loom/client-sdk";
import type { NamedRecord, WorldNames } from "@loom/shared";
import type { Live } from "./live.ts";
import { useResend } from "./resend.ts";
import { count, ErrorLine, Field, useTask } from "./ui.tsx";

type Kind =
  "scene" | "aspect" | "npc" | "location" | "faction" | "quest" | "milestone" | "compel" | "world_event";

const KINDS: Array<[Kind, string]> = [
  ["scene", "Scene: open a new one"],
  ["aspect", "Situation aspect: add or remove"],
  ["npc", "NPC: add, update, remove"],
  ["location", "Location: add, update, remove"],
  ["faction", "Faction: add, update, remove"],
  ["quest", "Quest: start, advance, resolve, fail"],
  ["milestone", "Milestone for a character"],
  ["compel", "Compel a character's aspect"],
  ["world_event", "World event (free text)"],
];

const OPS: Partial<Record<Kind, string[]>> = {
  aspect: ["add", "remove"],
  npc: ["add", "update", "remove"],
  location: ["add", "update", "remove"],
  faction: ["add", "update", "remove"],
  quest: ["start", "advance", "resolve", "fail"],
};

/** Leaves out what the GM left empty: the rules fill defaults (add) or keep the field (update). */
function given(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(entries).filter(([, value]) => value !== "" && value !== undefined),
  );
}

/** Builds the typed command from the form (shared/src/command.ts); the server decides it. */
function commandOf(
  kind: Kind,
  op: string,
  v: (key: string) => string,
  checked: (key: string) => boolean,
): CommandInput {
  const lines = (key: string) =>
    v(key)
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
  switch (kind) {
    case "scene":
      return {
        kind,
        title: v("title"),
        ...given({ location: v("location"), summary: v("summary") }),
        aspects: lines("aspects"),
      };
    case "aspect":
      return {
        kind,
        op,
        ...given({ id: v("id"), name: v("name") }),
        freeInvokes: Number(v("freeInvokes") || 0),
      } as CommandInput;
    case "npc":
      return {
        kind,
        op,
        ...given({
          id: v("id"),
          name: v("name"),
          relationship: v("relationship"),
          notes: v("notes"),
          gmNotes: v("gmNotes"),
        }),
      } as CommandInput;
    case "location":
      return {
        kind,
        op,
        ...given({ id: v("id"), name: v("name"), region: v("region"), notes: v("notes") }),
      } as CommandInput;
    case "faction":
      return {
        kind,
        op,
        ...given({
          id: v("id"),
          name: v("name"),
          standing: v("standing") === "" ? undefined : Number(v("standing")),
        }),
      } as CommandInput;
    case "quest":
      return {
        kind,
        op,
        ...given({ id: v("id"), title: v("title"), details: v("details") }),
      } as CommandInput;
    case "milestone":
      return { kind, characterId: v("characterId"), level: v("level"), note: v("note") } as CommandInput;
    case "compel":
      return {
        kind,
        characterId: v("characterId"),
        aspect: v("aspect"),
        text: v("text"),
        accepted: checked("accepted"),
      };
    case "world_event":
      return { kind, text: v("text"), major: checked("major") };
  }
}

/**
 * The world's NPCs, locations, factions and quests at the head, for the picker of a command that
 * changes one by id: read (GET /names) only while such a command is chosen, and again a moment
 * after the head moves.
 */
function useRecords(universeId: string, head: number, wanted: boolean): WorldNames | null {
  const [records, setRecords] = useState<WorldNames | null>(null);
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    const timer = setTimeout(() => {
      void client.worldNames(universeId).then(
        (names) => current && setRecords(names),
        () => undefined, // the field stays a text box: the GM types the id
      );
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [universeId, head, wanted]);
  return wanted ? records : null;
}

/** The ids a turn's events name (what a command added or changed), for the status line. */
function idsIn(turn: Turn): string[] {
  const ids = turn.events.flatMap((event) =>
    ["npcId", "locationId", "factionId", "questId", "aspectId"]
      .map((key) => event.data[key])
      .filter((value): value is string => typeof value === "string"),
  );
  return [...new Set(ids)];
}

/** Typed game-master commands: world-building without JSON Pointer deltas. */
export function GmCommands({ live, universeId }: { live: Live; universeId: string }) {
  const task = useTask();
  const [kind, setKind] = useState<Kind>("scene");
  const [op, setOp] = useState("add");
  const [done, setDone] = useState<string | null>(null);
  // a new value gives the fields back empty: after a command is sent, and for another command
  const [sent, setSent] = useState(0);
  const [characterId, setCharacterId] = useState("");
  const fields = useRef<HTMLDivElement>(null);
  const characters = Object.values(live.state?.characters ?? {});
  const character = characters.find((c) => c.id === characterId) ?? characters[0];
  const ops = OPS[kind];
  const show = (...ops: string[]) => ops.includes(op);
  const byId = ops !== undefined && op !== "add" && op !== "start";
  const records = useRecords(
    universeId,
    live.state?.head ?? 0,
    byId && (kind === "npc" || kind === "location" || kind === "faction" || kind === "quest"),
  );
  const aspects = Object.values(live.state?.scene?.aspects ?? {});
  /** The turn a command became: said, with the ids it made, and the fields emptied. */
  const made = (turn: Turn) => {
    const ids = idsIn(turn);
    setDone(
      `Turn #${turn.position}: ${turn.events.map((e) => e.description).join(" ")}${
        ids.length > 0 ? ` (id ${ids.join(", ")})` : ""
      }`,
    );
    setSent((n) => n + 1);
  };
  const { act } = useResend(live, (turn) => {
    task.clear();
    made(turn);
  });

  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const v = (key: string) => fieldText(data, key).trim();
    const command = commandOf(kind, ops ? op : "", v, (key) => data.get(key) !== null);
    // what an earlier command said is not what this one will
    setDone(null);
    void task
      .run(async () => {
        const result = await act(command);
        if (!result.ok) throw rejectedError(result.rejection);
        made(result.turn);
        return true;
      })
      .then((ok) => {
        // sent: the form is ready for the next command, and so is the keyboard, unless the GM
        // went on elsewhere meanwhile (the disabled button had let the focus go to the page)
        if (ok)
          requestAnimationFrame(() => {
            const at = document.activeElement;
            if (at === null || at === document.body || form.contains(at))
              fields.current?.querySelector<HTMLElement>("input, select, textarea")?.focus();
          });
      });
  };

  const characterSelect = (
    <Field label="Character">
      <select
        name="characterId"
        required
        value={character?.id ?? ""}
        onChange={(e) => setCharacterId(e.currentTarget.value)}
      >
        {characters.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </Field>
  );
  // what a compel may name: the character's aspects and consequences, and the scene's
  const compellable = character
    ? [
        ...new Set(
          [
            character.highConcept,
            character.trouble,
            ...character.aspects,
            ...character.consequences,
            ...aspects.map((aspect) => aspect.name),
          ].filter(Boolean),
        ),
      ]
    : [];
  const picked: NamedRecord[] | null =
    kind === "aspect"
      ? aspects.map((aspect) => ({ id: aspect.id, label: aspect.name }))
      : (records?.[kind as keyof WorldNames] ?? null);
  const what = kind === "npc" ? "NPC" : kind;

  return (
    <form class="gm-command" onSubmit={submit} aria-label="Game master command">
      <div class="grid">
        <Field label="Command">
          <select
            name="command"
            value={kind}
            onChange={(e) => {
              const next = e.currentTarget.value as Kind;
              setKind(next);
              setOp(OPS[next]?.[0] ?? "");
              task.clear();
            }}
          >
            {KINDS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        {ops ? (
          <Field label="Operation">
            <select
              name="op"
              value={op}
              onChange={(e) => {
                setOp(e.currentTarget.value);
                task.clear();
              }}
            >
              {ops.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
      </div>
      {/* keyed: what was typed for one command never rides along with another */}
      <div key={`${kind} ${op} ${sent}`} ref={fields}>
        {kind === "scene" ? (
          <>
            <Field label="Title">
              <input name="title" required maxLength={200} />
            </Field>
            <Field label="Location">
              <input name="location" maxLength={200} />
            </Field>
            <Field label="Summary">
              <textarea name="summary" rows={2} />
            </Field>
            <Field label="Situation aspects" hint="one per line">
              <textarea name="aspects" rows={2} />
            </Field>
          </>
        ) : null}
        {ops && kind !== "scene" && !byId ? (
          <Field label="Id" hint="optional: made from the turn's position when empty">
            <input name="id" pattern="[A-Za-z0-9_\-]+" maxLength={64} />
          </Field>
        ) : null}
        {byId && picked && picked.length > 0 ? (
          <Field
            label="Id"
            hint={`${count(picked.length, `${what} here`, `${what}s here`)}: pick the one to change`}
          >
            <select name="id" required>
              {picked.map((known) => (
                <option key={known.id} value={known.id}>
                  {known.label} · {known.id}
                </option>
              ))}
            </select>
          </Field>
        ) : byId ? (
          <Field
            label="Id"
            hint={
              picked
                ? `there is no ${what} here yet`
                : kind === "aspect"
                  ? "the aspect's id"
                  : `the id of the ${what} to change (reading the list…)`
            }
          >
            <input name="id" pattern="[A-Za-z0-9_\-]+" maxLength={64} />
          </Field>
        ) : null}
        {(kind === "npc" || kind === "location" || kind === "faction") && !show("remove") ? (
          <Field label="Name" hint={byId ? "empty: unchanged" : undefined}>
            <input name="name" maxLength={200} />
          </Field>
        ) : null}
        {kind === "aspect" && show("add") ? (
          <>
            <Field label="Name">
              <input name="name" maxLength={200} />
            </Field>
            <Field label="Free invokes">
              <input name="freeInvokes" type="number" min={0} max={3} defaultValue="0" />
            </Field>
          </>
        ) : null}
        {kind === "npc" && !show("remove") ? (
          <>
            <Field label="Attitude">
              <select name="relationship">
                <option value="">(default: neutral, or unchanged)</option>
                {["hostile", "wary", "neutral", "friendly", "ally"].map((value) => (
                  <option key={value}>{value}</option>
                ))}
              </select>
            </Field>
            <Field label="Notes">
              <input name="notes" />
            </Field>
            <Field label="GM notes" hint="game masters only">
              <input name="gmNotes" />
            </Field>
          </>
        ) : null}
        {kind === "location" && !show("remove") ? (
          <>
            <Field label="Region">
              <input name="region" maxLength={100} />
            </Field>
            <Field label="Notes">
              <input name="notes" />
            </Field>
          </>
        ) : null}
        {kind === "faction" && !show("remove") ? (
          <Field label="Standing" hint="−10 to +10">
            <input name="standing" type="number" min={-10} max={10} />
          </Field>
        ) : null}
        {kind === "quest" ? (
          <>
            <Field label="Title" hint={show("start") ? "needed to start a quest" : "empty: unchanged"}>
              <input name="title" maxLength={100} />
            </Field>
            <Field label="Details">
              <textarea name="details" rows={2} />
            </Field>
          </>
        ) : null}
        {kind === "milestone" ? (
          <>
            {characterSelect}
            <Field label="Level" hint="a major milestone raises refresh by one">
              <select name="level">
                <option>minor</option>
                <option>significant</option>
                <option>major</option>
              </select>
            </Field>
            <Field label="Note">
              <input name="note" />
            </Field>
          </>
        ) : null}
        {kind === "compel" ? (
          <>
            {characterSelect}
            <Field
              label="Aspect compelled"
              hint={
                character ? `${character.name}'s aspects and the scene's are listed as you type` : undefined
              }
            >
              <input name="aspect" required maxLength={200} list="compellable" autocomplete="off" />
            </Field>
            <datalist id="compellable">
              {compellable.map((aspect) => (
                <option key={aspect} value={aspect} />
              ))}
            </datalist>
            <Field label="Complication">
              <input name="text" required />
            </Field>
            <label class="check">
              <input type="checkbox" name="accepted" defaultChecked /> Accepted (the character gains a fate
              point; refused, they pay one)
            </label>
          </>
        ) : null}
        {kind === "world_event" ? (
          <>
            <Field label="What happens">
              <textarea name="text" required rows={2} />
            </Field>
            <label class="check">
              <input type="checkbox" name="major" defaultChecked /> Major event (bookmarked, in recaps)
            </label>
          </>
        ) : null}
      </div>
      <button
        type="submit"
        class="primary"
        disabled={task.busy || live.status !== "live"}
        aria-busy={task.busy}
      >
        {task.busy ? "Sending…" : "Send command"}
      </button>
      <ErrorLine error={task.error} />
      {done ? <p role="status">{done}</p> : null}
    </form>
  );
}
