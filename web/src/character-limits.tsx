import { useEffect, useState } from "preact/hooks";
import {
  characterLimitsSchema,
  DEFAULT_CHARACTER_LIMITS,
  LADDER,
  LADDER_MAX,
  MAX_SKILLS,
  ratingInWords,
  signed,
  type CharacterLimits,
} from "@loom/shared";
import { client, describeError } from "./api.ts";
import { ErrorLine, Field, useTask } from "./ui.tsx";

/** The most skill points a game master may allow: every skill a sheet may list at Legendary. */
const MOST_POINTS = LADDER_MAX * MAX_SKILLS;

/** The ratings from `top` down to `bottom`, highest first (a select's options). */
export function ratingsDown(top: number, bottom: number): number[] {
  return Array.from({ length: Math.max(0, top - bottom + 1) }, (_, i) => top - i);
}

/** A universe's limits on a new character: Fate Core's until it is read, and if it cannot be. */
export interface KnownLimits {
  limits: CharacterLimits;
  reading: boolean;
  /** Why the universe could not be read (its coded error), else null. */
  error: string | null;
}

/** Reads a universe's limits; what shows them does not wait for the read. */
export function useCharacterLimits(universeId: string): KnownLimits {
  const [known, setKnown] = useState<KnownLimits>({
    limits: DEFAULT_CHARACTER_LIMITS,
    reading: true,
    error: null,
  });
  useEffect(() => {
    let current = true;
    setKnown({ limits: DEFAULT_CHARACTER_LIMITS, reading: true, error: null });
    void client.getUniverse(universeId).then(
      (universe) => {
        if (current) setKnown({ limits: universe.characterLimits, reading: false, error: null });
      },
      (caught: unknown) => {
        if (current)
          setKnown({ limits: DEFAULT_CHARACTER_LIMITS, reading: false, error: describeError(caught) });
      },
    );
    return () => {
      current = false;
    };
  }, [universeId]);
  return known;
}

/** What the form's fields hold, as typed. */
interface Typed {
  skillCap: string;
  skillPoints: string;
  refresh: string;
  pyramid: boolean;
}

const typed = (limits: CharacterLimits): Typed => ({
  skillCap: String(limits.skillCap),
  skillPoints: String(limits.skillPoints),
  refresh: String(limits.refresh),
  pyramid: limits.pyramid,
});

/** The game master's form for what a new character's sheet may hold in this universe. */
export function CharacterLimitsForm({ universeId }: { universeId: string }) {
  const known = useCharacterLimits(universeId);
  const { limits } = known;
  const save = useTask();
  const [values, setValues] = useState<Typed>(typed(limits));
  const [note, setNote] = useState<string | null>(null);
  // the fields show the universe's limits once read, and again after each save
  useEffect(() => setValues(typed(limits)), [limits]);
  const change = (field: Exclude<keyof Typed, "pyramid">) => (event: Event) =>
    setValues({ ...values, [field]: (event.currentTarget as HTMLInputElement).value });

  const submit = (event: Event) => {
    event.preventDefault();
    setNote(null);
    void save.run(async () => {
      const parsed = characterLimitsSchema.safeParse({
        skillCap: Number(values.skillCap),
        skillPoints: values.skillPoints.trim() === "" ? NaN : Number(values.skillPoints),
        refresh: values.refresh.trim() === "" ? NaN : Number(values.refresh),
        pyramid: values.pyramid,
      });
      if (!parsed.success)
        throw new Error(
          `Skill points are a whole number from 0 to ${MOST_POINTS}, and refresh one from 1 to 10.`,
        );
      const universe = await client.setCharacterLimits(universeId, parsed.data);
      const saved = universe.characterLimits;
      setValues(typed(saved));
      setNote(
        `Saved: new characters have skills up to ${ratingInWords(saved.skillCap)}, ${saved.skillPoints} skill points${saved.pyramid ? " in a pyramid" : ""}, refresh ${saved.refresh}.`,
      );
    });
  };

  return (
    <form onSubmit={submit} aria-label="Character limits" noValidate>
      <p class="hint">
        What a player's new character may start with here. Fate Core's are skills up to Great (+4), 20 skill
        points (the ratings above Mediocre added up) and a refresh of 3, the skills in a pyramid by custom.
        Characters already made keep their sheets.
      </p>
      <div class="grid">
        <Field label="Skill cap" hint="the highest rating a new character's skill may have">
          <select name="skillCap" value={values.skillCap} onChange={change("skillCap")}>
            {ratingsDown(LADDER_MAX, 0).map((rating) => (
              <option key={rating} value={rating}>
                {signed(rating)} {LADDER[rating as keyof typeof LADDER]}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Skill points" hint={`what the skills may add up to (0–${MOST_POINTS})`}>
          <input
            name="skillPoints"
            type="number"
            inputMode="numeric"
            min={0}
            max={MOST_POINTS}
            value={values.skillPoints}
            onInput={change("skillPoints")}
          />
        </Field>
        <Field label="Refresh" hint="the most fate points a session may start with (1–10)">
          <input
            name="refresh"
            type="number"
            inputMode="numeric"
            min={1}
            max={10}
            value={values.refresh}
            onInput={change("refresh")}
          />
        </Field>
      </div>
      <label class="check">
        <input
          type="checkbox"
          name="pyramid"
          checked={values.pyramid}
          onChange={(event) => setValues({ ...values, pyramid: event.currentTarget.checked })}
        />{" "}
        Skills must form a pyramid (at each rating, no more skills than one step below); otherwise it is
        advice
      </label>
      {known.reading ? <p aria-busy="true">Reading the universe's limits…</p> : null}
      <ErrorLine error={known.error} />
      {/* saved before the universe is read, the fields' defaults would replace its limits */}
      <button type="submit" disabled={save.busy || known.reading} aria-busy={save.busy}>
        {save.busy ? "Saving limits…" : "Save limits"}
      </button>
      <ErrorLine error={save.error} />
      {note ? (
        <p role="status" class="tool-result">
          {note}
        </p>
      ) : null}
    </form>
  );
}
