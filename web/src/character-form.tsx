import { useEffect, useState } from "preact/hooks";
import {
  characterSheetSchema,
  LADDER,
  LADDER_MAX,
  LADDER_MIN,
  MAX_SKILLS,
  overCharacterLimits,
  pyramidGaps,
  ratingInWords,
  signed,
} from "@loom/shared";
import { client, fieldText } from "./api.ts";
import { ratingsDown, useCharacterLimits } from "./character-limits.tsx";
import { navigate } from "./router.ts";
import { ErrorLine, Field, Link, Section, useTask } from "./ui.tsx";

interface SkillRow {
  name: string;
  rating: number;
}

/** The whole ladder, for the explanation of it. */
const LADDER_RATINGS = ratingsDown(LADDER_MAX, LADDER_MIN);

/** Skill points a sheet spends: its ratings above Mediocre added up (as the server counts them). */
function skillPoints(skills: readonly SkillRow[]): number {
  return skills.reduce((sum, skill) => sum + Math.max(0, skill.rating), 0);
}

/**
 * Fate Core's skill pyramid (p. 30): at each rating above Mediocre, no more skills than at the
 * rating below. Advice, unless the universe's game master requires it (`limits.pyramid`): then the
 * server refuses a sheet that breaks it, and so does this form.
 */
export function pyramidAdvice(skills: readonly SkillRow[]): string[] {
  return pyramidGaps(skills.map((skill) => skill.rating)).map(
    (gap) => `${gap}: a pyramid has at least as many one step below.`,
  );
}

/**
 * The sheet a player fills in, checked with the server's own schema and the universe's limits on
 * a new character (shared/src/character.ts) before it is sent.
 */
export function CharacterForm({ universeId }: { universeId: string }) {
  const task = useTask();
  const known = useCharacterLimits(universeId);
  const { limits } = known;
  const [skills, setSkills] = useState<SkillRow[]>([
    { name: "", rating: 3 },
    { name: "", rating: 2 },
    { name: "", rating: 1 },
  ]);
  const [refresh, setRefresh] = useState("3");
  const [issues, setIssues] = useState<string[]>([]);
  const named = skills.filter((skill) => skill.name.trim() !== "");
  const advice = pyramidAdvice(named);
  const points = skillPoints(named);
  const ratings = ratingsDown(limits.skillCap, LADDER_MIN);
  // under a lower cap or refresh, what the form started with comes down to it: a select cannot
  // show a rating it does not offer
  useEffect(() => {
    if (skills.some((skill) => skill.rating > limits.skillCap))
      setSkills(skills.map((skill) => ({ ...skill, rating: Math.min(skill.rating, limits.skillCap) })));
    if (Number(refresh) > limits.refresh) setRefresh(String(limits.refresh));
  }, [limits]);

  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const text = (key: string) => fieldText(data, key);
    const sheet = {
      name: text("name"),
      highConcept: text("highConcept"),
      trouble: text("trouble"),
      aspects: text("aspects")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean),
      skills: Object.fromEntries(named.map((skill) => [skill.name.trim(), skill.rating])),
      refresh: Number(refresh),
      notes: text("notes"),
    };
    const parsed = characterSheetSchema.safeParse(sheet);
    if (!parsed.success) {
      setIssues(parsed.error.issues.map((issue) => `${issue.path.join(".") || "sheet"}: ${issue.message}`));
      return;
    }
    if (new Set(named.map((skill) => skill.name.trim().toLowerCase())).size !== named.length) {
      setIssues(["skills: each skill once"]);
      return;
    }
    const over = overCharacterLimits(parsed.data, limits);
    if (over.length > 0) {
      setIssues(over);
      return;
    }
    setIssues([]);
    void task.run(async () => {
      const { run } = await client.createCharacter(universeId, parsed.data);
      navigate(`/u/${universeId}/play/${run.id}`);
    });
  };

  const update = (index: number, change: Partial<SkillRow>) =>
    setSkills(skills.map((skill, i) => (i === index ? { ...skill, ...change } : skill)));

  return (
    <main class="narrow">
      <p>
        <Link href="/">← Universes</Link>
      </p>
      <Section title="Create a character">
        <form onSubmit={submit} aria-label="Character sheet" noValidate>
          <Field label="Name">
            <input name="name" required maxLength={100} />
          </Field>
          <Field label="High concept" hint="who the character is, in a phrase: an aspect you can invoke">
            <input name="highConcept" required maxLength={200} />
          </Field>
          <Field label="Trouble" hint="what keeps getting them into trouble: an aspect the GM may compel">
            <input name="trouble" required maxLength={200} />
          </Field>
          <Field label="Other aspects" hint="up to 5, one per line">
            <textarea name="aspects" rows={3} />
          </Field>
          <fieldset class="skills">
            <legend>Skills</legend>
            <p class="hint">
              Each skill sits on <strong>the ladder</strong>: the higher, the better you are at it. A skill
              you do not list rolls at Mediocre (+0). Up to {MAX_SKILLS} skills, named with letters and
              spaces.
            </p>
            <p class="hint">
              In this universe a new character has skills up to {ratingInWords(limits.skillCap)},{" "}
              {limits.skillPoints} skill points and a refresh of at most {limits.refresh}; its game master
              sets these. A skill's rating above Mediocre is what it costs in points.
            </p>
            <ErrorLine error={known.error} />
            {skills.map((skill, index) => (
              <div class="skill-row" key={index}>
                <input
                  aria-label={`Skill ${index + 1} name`}
                  name={`skill-${index}`}
                  value={skill.name}
                  maxLength={40}
                  placeholder="e.g. Athletics"
                  onInput={(event) => update(index, { name: event.currentTarget.value })}
                />
                <select
                  aria-label={`Skill ${index + 1} rating`}
                  name={`rating-${index}`}
                  value={skill.rating}
                  onChange={(event) => update(index, { rating: Number(event.currentTarget.value) })}
                >
                  {ratings.map((rating) => (
                    <option key={rating} value={rating}>
                      {signed(rating)} {LADDER[rating as keyof typeof LADDER]}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  aria-label={`Remove skill ${index + 1}`}
                  onClick={() => setSkills(skills.filter((_, i) => i !== index))}
                >
                  ✕
                </button>
              </div>
            ))}
            <button
              type="button"
              disabled={skills.length >= MAX_SKILLS}
              onClick={() => setSkills([...skills, { name: "", rating: Math.min(1, limits.skillCap) }])}
            >
              Add skill
            </button>
            <p class={points > limits.skillPoints ? "points error" : "points"} aria-live="polite">
              Skill points: {points} of {limits.skillPoints}
              {points > limits.skillPoints ? ` (${points - limits.skillPoints} over)` : ""}
            </p>
            <details class="ladder">
              <summary>The ladder</summary>
              <ol>
                {LADDER_RATINGS.map((rating) => (
                  <li key={rating}>
                    {signed(rating)} {LADDER[rating as keyof typeof LADDER]}
                  </li>
                ))}
              </ol>
            </details>
            <p class="hint">
              <strong>The pyramid</strong> (Fate Core's usual start: one Great (+4), two Good (+3), three Fair
              (+2), four Average (+1)): at each rating, no more skills than one step below.
              {limits.pyramid ? " This universe's game master requires it." : ""}
            </p>
            {advice.length > 0 ? (
              <ul
                class={limits.pyramid ? "advice error" : "advice"}
                aria-label={limits.pyramid ? "Pyramid required" : "Pyramid advice"}
              >
                {advice.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            ) : named.length > 0 ? (
              <p class="ok">Your skills form a pyramid.</p>
            ) : null}
          </fieldset>
          <Field
            label="Refresh"
            hint={`fate points at the start of each session: 1 to ${limits.refresh} in this universe (Fate Core starts at 3)`}
          >
            <input
              name="refresh"
              type="number"
              min={1}
              max={limits.refresh}
              value={refresh}
              onInput={(event) => setRefresh(event.currentTarget.value)}
              required
            />
          </Field>
          <Field label="Private notes" hint="only you and game masters read them">
            <textarea name="notes" rows={2} maxLength={2000} />
          </Field>
          {issues.length > 0 ? (
            <ul class="error" role="alert" aria-label="Sheet problems">
              {issues.map((issue) => (
                <li key={issue}>{issue}</li>
              ))}
            </ul>
          ) : null}
          <button type="submit" class="primary" disabled={task.busy} aria-busy={task.busy}>
            {task.busy ? "Creating character…" : "Create character and start a run"}
          </button>
          <ErrorLine error={task.error} />
        </form>
      </Section>
    </main>
  );
}
