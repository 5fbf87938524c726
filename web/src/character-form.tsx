import { useState } from "preact/hooks";
import { characterSheetSchema, LADDER, LADDER_MAX, LADDER_MIN, signed } from "@loom/shared";
import { client, fieldText } from "./api.ts";
import { navigate } from "./router.ts";
import { ErrorLine, Field, Link, Section, useTask } from "./ui.tsx";

interface SkillRow {
  name: string;
  rating: number;
}

const RATINGS = Array.from({ length: LADDER_MAX - LADDER_MIN + 1 }, (_, i) => LADDER_MAX - i);

/**
 * Fate Core's skill pyramid (p. 30): at each rating above Mediocre, no more skills than at the
 * rating below. The server accepts any sheet its schema accepts (ratings on the ladder, at most
 * 20 skills); the pyramid is the table's convention, so it is advice here, not a refusal.
 */
export function pyramidAdvice(skills: readonly SkillRow[]): string[] {
  const count = new Map<number, number>();
  for (const skill of skills) count.set(skill.rating, (count.get(skill.rating) ?? 0) + 1);
  const advice: string[] = [];
  for (let rating = LADDER_MAX; rating >= 2; rating--) {
    const here = count.get(rating) ?? 0;
    const below = count.get(rating - 1) ?? 0;
    if (here > below)
      advice.push(
        `${here} skill${here > 1 ? "s" : ""} at ${LADDER[rating as keyof typeof LADDER]} (${signed(rating)}) but ${below} at ${LADDER[(rating - 1) as keyof typeof LADDER]} (${signed(rating - 1)}): a pyramid has at least as many one step below.`,
      );
  }
  return advice;
}

/** The sheet a player fills in, checked with the server's own schema (shared/src/character.ts). */
export function CharacterForm({ universeId }: { universeId: string }) {
  const task = useTask();
  const [skills, setSkills] = useState<SkillRow[]>([
    { name: "", rating: 3 },
    { name: "", rating: 2 },
    { name: "", rating: 1 },
  ]);
  const [issues, setIssues] = useState<string[]>([]);
  const named = skills.filter((skill) => skill.name.trim() !== "");
  const advice = pyramidAdvice(named);

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
      refresh: Number(text("refresh")),
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
              you do not list rolls at Mediocre (+0). Up to 20 skills, named with letters and spaces.
            </p>
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
                  {RATINGS.map((rating) => (
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
              disabled={skills.length >= 20}
              onClick={() => setSkills([...skills, { name: "", rating: 1 }])}
            >
              Add skill
            </button>
            <details class="ladder">
              <summary>The ladder</summary>
              <ol>
                {RATINGS.map((rating) => (
                  <li key={rating}>
                    {signed(rating)} {LADDER[rating as keyof typeof LADDER]}
                  </li>
                ))}
              </ol>
            </details>
            <p class="hint">
              <strong>The pyramid</strong> (Fate Core's usual start: one Great +4, two Good +3, three Fair +2,
              four Average +1): at each rating, no more skills than one step below.
            </p>
            {advice.length > 0 ? (
              <ul class="advice" aria-label="Pyramid advice">
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
            hint="fate points at the start of each session (1–10; Fate Core starts at 3)"
          >
            <input name="refresh" type="number" min={1} max={10} defaultValue="3" required />
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
