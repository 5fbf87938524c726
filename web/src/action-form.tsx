import { fieldText, rejectedError } from "./api.ts";
import { useRef, useState } from "preact/hooks";
import { LoomError, type CommandInput, type Turn } from "@loom/client-sdk";
import { LIMITS } from "@loom/shared";
import type { Live } from "./live.ts";
import { useResend } from "./resend.ts";
import { ErrorLine, Field, useTask } from "./ui.tsx";

type Kind = "overcome" | "create_advantage" | "attack" | "defend" | "custom";

const KINDS: Array<[Kind, string, string]> = [
  ["overcome", "Overcome", "get past an obstacle"],
  ["create_advantage", "Create an advantage", "put an aspect on the scene, with a free invoke"],
  ["attack", "Attack", "harm a character or an NPC"],
  ["defend", "Defend", "keep harm or an advantage away"],
  ["custom", "Free text", "say what your character does, no roll"],
];

/**
 * What a roll's description might say, shown until the player writes: a thing, which the turn's
 * sentence makes its object ("overcomes the locked gate"); other words it quotes.
 */
const DESCRIBED: Record<Exclude<Kind, "custom">, string> = {
  overcome: "what stands in the way, e.g. the locked gate",
  create_advantage: "what you make use of, e.g. the crowd at the market",
  attack: "how you strike, e.g. a feint and a quick jab",
  defend: "what you keep away, e.g. a hail of arrows",
};

/** Characters shown as the count of a text: 2,000. */
const counted = new Intl.NumberFormat("en");

/**
 * A text past what a turn takes, refused before it is sent. The fields have no `maxLength`: a
 * browser cuts a pasted text there without a word, and the player acts on half of what they wrote.
 */
function overLong(what: string, text: string): LoomError | null {
  if (text.length <= LIMITS.textMax) return null;
  return new LoomError(
    "invalid_message",
    `${what} is ${counted.format(text.length)} characters long; a turn takes at most ${counted.format(LIMITS.textMax)}. Shorten it and try again.`,
  );
}

/** How long a text is against the limit, once it comes near it (a field's hint). */
function lengthHint(length: number) {
  if (length < LIMITS.textMax * 0.9) return undefined;
  return (
    <span class={length > LIMITS.textMax ? "error" : ""}>
      {counted.format(length)} of {counted.format(LIMITS.textMax)} characters
    </span>
  );
}

interface Invoking {
  aspect: string;
  effect: "bonus" | "reroll";
  payment: "fate_point" | "free_invoke";
}

/**
 * The four Fate actions and free text, with aspect invokes (+2 or a reroll, paid with a fate point
 * or a free invoke). `hidden` is for game masters: a roll players do not see.
 */
export function ActionForm(props: {
  live: Live;
  characterId: string;
  skills: string[];
  /** Aspects of the acting character (high concept, trouble, others). */
  ownAspects: string[];
  gm?: boolean;
}) {
  const { live, characterId } = props;
  const task = useTask();
  const [kind, setKind] = useState<Kind>("overcome");
  const [targetKind, setTargetKind] = useState("none");
  const [invokes, setInvokes] = useState<Invoking[]>([]);
  const [last, setLast] = useState<{ position: number; said: string } | null>(null);
  const [written, setWritten] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  /** The turn a command became: said, and the form emptied for the next one. */
  const made = (turn: Turn) => {
    setLast({
      position: turn.position,
      said: `Turn #${turn.position}: ${turn.events.map((e) => e.description).join(" ")}`,
    });
    setInvokes([]);
    setWritten(0);
    formRef.current
      ?.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("[data-clear]")
      .forEach((input) => (input.value = ""));
  };
  const resend = useResend(live, (turn) => {
    task.clear();
    made(turn);
  });
  const scene = Object.values(live.state?.scene?.aspects ?? {});
  const characters = live.state?.characters ?? {};
  const others = Object.values(characters).filter((c) => c.id !== characterId);
  // A player spends only the free invokes their own character earned, or those of an aspect a game
  // master placed (createdBy empty); the server refuses another's (not_your_free_invoke). A game
  // master spends any.
  const spendable = (aspect: { createdBy: string; freeInvokes: number }) =>
    props.gm || (aspect.freeInvokes > 0 && (aspect.createdBy === "" || aspect.createdBy === characterId));
  const aspectChoices: Array<{ value: string; label: string; free: boolean }> = [
    ...scene.map((aspect) => {
      const whose =
        aspect.freeInvokes && !spendable(aspect)
          ? ` for ${characters[aspect.createdBy]?.name ?? "another character"}`
          : "";
      return {
        value: aspect.id,
        label: `${aspect.name} (scene${aspect.freeInvokes ? `, ${aspect.freeInvokes} free${whose}` : ""})`,
        free: spendable(aspect),
      };
    }),
    ...props.ownAspects.map((aspect) => ({ value: aspect, label: aspect, free: Boolean(props.gm) })),
  ];
  // what a roll spends or earns shows on the sheets and the scene everyone reads, so the server
  // refuses a hidden one that invokes or creates an advantage (hiddenRollRefusal)
  const concealable = kind !== "create_advantage" && invokes.length === 0;
  const freeOn = (aspect: string) => aspectChoices.find((choice) => choice.value === aspect)?.free ?? false;

  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (key: string) => fieldText(data, key).trim();
    let command: CommandInput;
    if (kind === "custom") {
      command = { kind: "custom", characterId, text: text("text") };
    } else {
      // only a game master sets a difficulty: a player's form has no such field
      const opposition = props.gm ? text("opposition") : "";
      const target =
        targetKind === "none"
          ? undefined
          : targetKind === "npc"
            ? { type: "npc" as const, id: text("npcId") }
            : targetKind === "scene"
              ? { type: "scene" as const }
              : { type: "character" as const, id: targetKind };
      command = {
        kind: "action",
        action: kind,
        characterId,
        skill: text("skill"),
        description: text("description"),
        ...(target ? { target } : {}),
        ...(opposition !== "" ? { opposition: Number(opposition) } : {}),
        ...(kind === "create_advantage" && text("aspectName") ? { aspectName: text("aspectName") } : {}),
        invokes: invokes.filter((invoke) => invoke.aspect),
        ...(props.gm && concealable && data.get("hidden") ? { hidden: true } : {}),
      };
    }
    void task
      .run(async () => {
        const tooLong =
          command.kind === "custom"
            ? overLong("What you wrote", command.text)
            : command.kind === "action"
              ? overLong("The description", command.description ?? "")
              : null;
        if (tooLong) throw tooLong;
        const result = await resend.act(command);
        if (!result.ok) throw rejectedError(result.rejection);
        made(result.turn);
      })
      .then(() => {
        // the button is disabled while the turn is made, which takes the keyboard's focus away
        // from the form: it goes back to where the player writes their next turn
        if (document.activeElement === document.body || document.activeElement === null)
          form.querySelector<HTMLElement>("[data-write]")?.focus();
      });
  };
  // the turn said here, undone since (by its player or a game master), no longer stands
  const lastUndone =
    last !== null && live.turns.some((t) => t.position === last.position && t.status === "undone");
  const onWrite = (event: Event) => setWritten((event.currentTarget as HTMLTextAreaElement).value.length);

  return (
    <form class="act" ref={formRef} onSubmit={submit} aria-label="Take an action">
      <fieldset class="kinds">
        <legend>Action</legend>
        {KINDS.map(([value, label, hint]) => (
          <label key={value} class="radio" title={hint}>
            <input
              type="radio"
              name="kind"
              value={value}
              checked={kind === value}
              onChange={() => {
                setKind(value);
                setWritten(0);
              }}
            />{" "}
            {label}
          </label>
        ))}
      </fieldset>
      {kind === "custom" ? (
        <Field label="What do you do?" hint={lengthHint(written)}>
          <textarea name="text" required rows={2} data-clear data-write onInput={onWrite} />
        </Field>
      ) : (
        <>
          <div class="grid">
            <Field
              label="Skill"
              hint={
                props.gm
                  ? "a skill you lack rolls at Mediocre (+0)"
                  : "a skill you lack rolls at Mediocre (+0); against Fair (+2), or a target's own skill"
              }
            >
              <input
                name="skill"
                list="skills"
                required
                defaultValue={props.skills[0] ?? ""}
                maxLength={40}
              />
            </Field>
            {props.gm ? (
              <Field
                label="Opposition"
                hint="passive difficulty on the ladder; empty: Fair (+2), or the target's skill"
              >
                <input name="opposition" type="number" min={-4} max={12} />
              </Field>
            ) : null}
          </div>
          <datalist id="skills">
            {props.skills.map((skill) => (
              <option key={skill} value={skill} />
            ))}
          </datalist>
          <Field label="Description" hint={lengthHint(written)}>
            <input name="description" placeholder={DESCRIBED[kind]} data-clear data-write onInput={onWrite} />
          </Field>
          <div class="grid">
            <Field label="Target">
              <select name="target" value={targetKind} onChange={(e) => setTargetKind(e.currentTarget.value)}>
                <option value="none">none</option>
                <option value="scene">the scene</option>
                {others.map((other) => (
                  <option key={other.id} value={other.id}>
                    {other.name}
                  </option>
                ))}
                <option value="npc">an NPC (by id)…</option>
              </select>
            </Field>
            {targetKind === "npc" ? (
              <Field label="NPC id">
                <input name="npcId" required pattern="[A-Za-z0-9_\-]+" />
              </Field>
            ) : null}
            {kind === "create_advantage" ? (
              <Field label="Aspect to create">
                <input name="aspectName" maxLength={200} data-clear />
              </Field>
            ) : null}
          </div>
          <fieldset class="invokes">
            <legend>Invoke aspects</legend>
            {invokes.map((invoke, index) => (
              <div class="invoke-row" key={index}>
                <select
                  aria-label={`Invoke ${index + 1} aspect`}
                  value={invoke.aspect}
                  onChange={(e) => {
                    const aspect = e.currentTarget.value;
                    setInvokes(
                      invokes.map((x, i) =>
                        i === index
                          ? { ...x, aspect, payment: freeOn(aspect) ? x.payment : "fate_point" }
                          : x,
                      ),
                    );
                  }}
                >
                  {aspectChoices.map((choice) => (
                    <option key={choice.value} value={choice.value}>
                      {choice.label}
                    </option>
                  ))}
                </select>
                <select
                  aria-label={`Invoke ${index + 1} effect`}
                  value={invoke.effect}
                  onChange={(e) =>
                    setInvokes(
                      invokes.map((x, i) =>
                        i === index ? { ...x, effect: e.currentTarget.value as Invoking["effect"] } : x,
                      ),
                    )
                  }
                >
                  <option value="bonus">+2</option>
                  <option value="reroll">reroll</option>
                </select>
                <select
                  aria-label={`Invoke ${index + 1} payment`}
                  value={invoke.payment}
                  onChange={(e) =>
                    setInvokes(
                      invokes.map((x, i) =>
                        i === index ? { ...x, payment: e.currentTarget.value as Invoking["payment"] } : x,
                      ),
                    )
                  }
                >
                  <option value="fate_point">a fate point</option>
                  {freeOn(invoke.aspect) ? <option value="free_invoke">a free invoke</option> : null}
                </select>
                <button
                  type="button"
                  aria-label={`Remove invoke ${index + 1}`}
                  onClick={() => setInvokes(invokes.filter((_, i) => i !== index))}
                >
                  ✕
                </button>
              </div>
            ))}
            <button
              type="button"
              disabled={aspectChoices.length === 0 || invokes.length >= 5}
              onClick={() =>
                setInvokes([
                  ...invokes,
                  { aspect: aspectChoices[0]?.value ?? "", effect: "bonus", payment: "fate_point" },
                ])
              }
            >
              Invoke an aspect
            </button>
          </fieldset>
          {props.gm ? (
            <label class="check">
              {/* a game master rolls here to keep the dice from the table: hidden unless unticked */}
              <input type="checkbox" name="hidden" defaultChecked disabled={!concealable} /> Hidden roll
              (players and spectators see only that it happened)
              {concealable ? null : (
                <span class="muted">
                  {" "}
                  — not for an advantage or an invoke: what they earn or spend shows on the table
                </span>
              )}
            </label>
          ) : null}
        </>
      )}
      <button
        type="submit"
        class="primary"
        disabled={task.busy || live.status !== "live"}
        aria-busy={task.busy}
      >
        {task.busy ? (kind === "custom" ? "Sending…" : "Rolling…") : kind === "custom" ? "Do it" : "Roll"}
      </button>
      <ErrorLine error={task.error} />
      {last && !lastUndone ? (
        <p class="result" role="status">
          {last.said}
        </p>
      ) : null}
    </form>
  );
}
