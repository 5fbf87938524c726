import { fieldText, rejectedError } from "./api.ts";
import { useState } from "preact/hooks";
import type { CommandInput } from "@loom/client-sdk";
import type { Live } from "./live.ts";
import { ErrorLine, Field, useTask } from "./ui.tsx";

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

/** Typed game-master commands: world-building without JSON Pointer deltas. */
export function GmCommands({ live }: { live: Live }) {
  const task = useTask();
  const [kind, setKind] = useState<Kind>("scene");
  const [op, setOp] = useState("add");
  const [done, setDone] = useState<string | null>(null);
  const characters = Object.values(live.state?.characters ?? {});
  const ops = OPS[kind];
  const show = (...ops: string[]) => ops.includes(op);

  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const v = (key: string) => fieldText(data, key).trim();
    const command = commandOf(kind, ops ? op : "", v, (key) => data.get(key) !== null);
    void task.run(async () => {
      if (!live.session) throw new Error("not connected to the universe");
      const result = await live.session.act(command);
      if (!result.ok) throw rejectedError(result.rejection);
      setDone(`Turn #${result.turn.position}: ${result.turn.events.map((e) => e.description).join(" ")}`);
    });
  };

  const characterSelect = (
    <Field label="Character">
      <select name="characterId" required>
        {characters.map((character) => (
          <option key={character.id} value={character.id}>
            {character.name}
          </option>
        ))}
      </select>
    </Field>
  );

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
            <select name="op" value={op} onChange={(e) => setOp(e.currentTarget.value)}>
              {ops.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
      </div>
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
      {ops && kind !== "scene" ? (
        <Field
          label="Id"
          hint={
            op === "add" || op === "start"
              ? "optional: made from the turn's position when empty"
              : "the id to change"
          }
        >
          <input name="id" pattern="[A-Za-z0-9_-]+" maxLength={64} />
        </Field>
      ) : null}
      {(kind === "aspect" || kind === "npc" || kind === "location" || kind === "faction") &&
      !show("remove") ? (
        <Field label="Name">
          <input name="name" maxLength={200} />
        </Field>
      ) : null}
      {kind === "aspect" && show("remove") ? (
        <Field label="Name" hint="the aspect's name, or give its id above">
          <input name="name" maxLength={200} />
        </Field>
      ) : null}
      {kind === "aspect" && show("add") ? (
        <Field label="Free invokes">
          <input name="freeInvokes" type="number" min={0} max={3} defaultValue="0" />
        </Field>
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
          <Field label="Title" hint="needed to start a quest">
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
          <Field label="Aspect compelled">
            <input name="aspect" required maxLength={200} />
          </Field>
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
