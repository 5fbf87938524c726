import { markdownInline, markdownLiteral, markdownParagraph } from "../markdown-text.ts";
import type { Recap } from "./recap.ts";

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function section(title: string, lines: readonly string[]): string[] {
  return lines.length === 0 ? [] : [`### ${title}`, "", ...lines, ""];
}

function sceneLines(recap: Omit<Recap, "text">): string[] {
  const { scene } = recap;
  const heading = scene.location === null ? scene.title : `${scene.title} — ${scene.location}`;
  const lines = [`### The scene: ${markdownLiteral(heading)}`, ""];
  if (scene.summary !== "") lines.push(markdownParagraph(scene.summary), "");
  const more = recap.omitted.sceneAspects;
  if (scene.aspects.length > 0)
    lines.push(
      `Aspects: ${scene.aspects.map((aspect) => `*${markdownInline(aspect)}*`).join(", ")}${more > 0 ? `, …and ${plural(more, "other", "others")}` : ""}`,
      "",
    );
  return lines;
}

/** A line of the log as a sentence: descriptions carry no final stop of their own. */
function stop(text: string): string {
  return /[.!?…]["'”)*]?$/u.test(text) ? text : `${text}.`;
}

/** Whether a turn's text names its character first ("Kest sinks the ferry"), or the first word of the name. */
function namesFirst(text: string, name: string): boolean {
  return [name, name.split(" ")[0] ?? ""].some(
    (candidate) =>
      candidate !== "" && text.startsWith(candidate) && !/[\p{L}\p{N}]/u.test(text.charAt(candidate.length)),
  );
}

function awayLines(recap: Omit<Recap, "text">): string[] {
  const lines = recap.whileYouWereAway.map((turn) => {
    const who = turn.characterName ?? "the world";
    // "Turn 31, Kest: Kest sinks the ferry" says the name twice
    const by =
      turn.characterName !== null && namesFirst(turn.text, turn.characterName)
        ? ""
        : `, ${markdownLiteral(who)}`;
    return `- Turn ${turn.position}${by}: ${stop(markdownLiteral(turn.text))}`;
  });
  const more = recap.omitted.whileYouWereAway;
  if (more > 0)
    lines.unshift(
      `- …and ${recap.awayCountCapped ? "more than " : ""}${plural(more, "earlier event", "earlier events")}.`,
    );
  return lines;
}

/**
 * The recap as Markdown (what players and game masters wrote kept as words: markdown-text.ts), in
 * the order a narrator would tell it: the story so far, where the
 * character stands, who they know, what they did last, what others did meanwhile (or, on a run's
 * first session, before it), what changed.
 */
export function renderRecap(recap: Omit<Recap, "text">): string {
  const lines = [
    `## Last time on ${markdownLiteral(recap.universeName)}…`,
    "",
    `*${markdownInline(recap.characterName)}, at turn ${recap.head}.*`,
    "",
  ];
  if (recap.recentSummary !== "") lines.push(markdownParagraph(recap.recentSummary), "");
  lines.push(...sceneLines(recap));
  const moreQuests =
    recap.omitted.activeQuests > 0 ? [`- …and ${plural(recap.omitted.activeQuests, "more", "more")}.`] : [];
  lines.push(
    ...section("Active quests", [
      ...recap.activeQuests.map((quest) =>
        quest.details === ""
          ? `- **${markdownInline(quest.title)}**`
          : `- **${markdownInline(quest.title)}** — ${markdownLiteral(quest.details)}`,
      ),
      ...moreQuests,
    ]),
  );
  // the NPCs left out are the least recently seen: they follow the list
  const moreNpcs =
    recap.omitted.keyNpcs > 0 ? [`- …and ${plural(recap.omitted.keyNpcs, "other", "others")}.`] : [];
  lines.push(
    ...section("Who you know", [
      ...recap.keyNpcs.map(
        (npc) =>
          `- **${markdownInline(npc.name)}** (${npc.attitude})${npc.notes === "" ? "" : ` — ${markdownLiteral(npc.notes)}`}`,
      ),
      ...moreNpcs,
    ]),
  );
  lines.push(
    ...section(
      "Your last turns",
      recap.lastTurns.map((turn) => `- Turn ${turn.position}: ${stop(markdownLiteral(turn.text))}`),
    ),
  );
  // a run's first session was never away: the world's events before it are where it comes in
  const awayTitle = recap.previousSessionEnd === null ? "Before you arrived" : "While you were away";
  lines.push(...section(awayTitle, awayLines(recap)));
  // the retcons left out are the earliest: they come before the list
  const earlierRetcons =
    recap.omitted.retcons > 0
      ? [`- …and ${plural(recap.omitted.retcons, "earlier retcon", "earlier retcons")}.`]
      : [];
  lines.push(
    ...section("Retcons", [
      ...earlierRetcons,
      ...recap.retcons.map((retcon) => `- Turn ${retcon.position}: ${stop(markdownLiteral(retcon.note))}`),
    ]),
  );
  return `${lines.join("\n").trimEnd()}\n`;
}
