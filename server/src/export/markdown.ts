import {
  conceptAfterName,
  formatShifts,
  ladderName,
  listNpcs,
  markdownInline,
  markdownLiteral,
  markdownParagraph,
  signed,
  viewState,
  viewTurn,
  type Resolution,
  type Turn,
  type UniverseState,
  type Viewer,
} from "@loom/shared";
import type { StoryTurn } from "../persist/turn-store.ts";
import type { AncestryMode, Audience, ExportStores } from "./format.ts";
import { savePointsFor, turnJsonPages, universeOrThrow, viewerOf, type Progress } from "./source.ts";

/** Footnotes held for the end of a chapter at most; more are written after the page that made them. */
const FOOTNOTES_HELD = 1_000;

export interface MarkdownOptions {
  audience: Audience;
  ancestry?: AncestryMode;
  pageSize?: number;
  onProgress?: Progress;
}

const FACES: Record<number, string> = { [-1]: "−", 0: "0", 1: "+" };

function ladder(n: number): string {
  return ladderName(n) ?? signed(n);
}

/** A roll in one line: skill and rating, the four faces, total against opposition, outcome. */
export function rollFootnote(position: number, roll: Resolution): string {
  const faces = roll.dice.map((d) => FACES[d] ?? String(d)).join(" ");
  const outcome = roll.outcome.replace(/_/g, " ");
  const invokes = roll.invokeBonus ? `, invokes ${signed(roll.invokeBonus)}` : "";
  const rerolls = roll.rerolls.length
    ? `, ${roll.rerolls.length} reroll${roll.rerolls.length === 1 ? "" : "s"}`
    : "";
  return (
    `turn ${position}: ${roll.skill} ${signed(roll.rating)} (${roll.action.replace(/_/g, " ")}), ` +
    `[${faces}]${invokes}${rerolls}, total ${signed(roll.total)} (${ladder(roll.total)}) ` +
    `vs ${signed(roll.opposition)}: ${outcome}, ${formatShifts(roll.shifts)}${roll.hidden ? " (hidden)" : ""}`
  );
}

/** The newest prose of a turn: its last retelling, else its first telling; events when it was never told. */
function prose(turn: StoryTurn, viewer: Viewer): string {
  const narration = turn.narration;
  if (narration && !(viewer.role !== "gm" && narration.audience === "gm")) {
    const latest = narration.retellings?.[narration.retellings.length - 1] ?? narration;
    if (latest.text.trim()) return latest.text.trim();
  }
  return turn.events
    .map((event) => sentence(event.description))
    .filter(Boolean)
    .join(" ");
}

/** An event's description as a sentence: rules write them without a final stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed === "" || /[.!?…"”)]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function isSessionTurn(kind: Turn["kind"]): boolean {
  return kind === "session_start" || kind === "session_end";
}

function castOf(state: UniverseState): string {
  const lines: string[] = ["## Cast", ""];
  const characters = Object.values(state.characters).sort((a, b) => a.name.localeCompare(b.name));
  for (const character of characters) {
    // "Mara — disgraced cartographer", not "Mara — Mara, disgraced cartographer"
    const rest = conceptAfterName(character.name, character.highConcept);
    const concept = rest ? ` — *${markdownInline(rest)}*` : "";
    lines.push(
      `- **${markdownInline(character.name)}**${concept}${character.takenOut ? " (taken out)" : ""}`,
    );
  }
  const npcs = listNpcs(state).sort((a, b) => a.name.localeCompare(b.name));
  for (const npc of npcs)
    lines.push(
      `- ${markdownLiteral(npc.name)} (${markdownLiteral(npc.relationship)})${npc.takenOut ? ", taken out" : ""}`,
    );
  if (characters.length + npcs.length === 0) lines.push("*Nobody yet.*");
  return `${lines.join("\n")}\n\n`;
}

/**
 * The story for a reader: a title and the cast (from the state at the head, redacted for the
 * audience), then a chapter for each stretch of play between a first player joining and the last
 * one leaving (turns before any session are the prologue), each turn's prose as a paragraph with
 * its roll as a footnote, retcons and undos marked, and each save point the audience may see
 * after the turn it was named at (a reader looks for it where the story stood). Streamed a page of
 * turns at a time; the footnotes of a chapter are written at its end.
 */
export async function* exportMarkdown(
  stores: ExportStores,
  universeId: string,
  options: MarkdownOptions,
): AsyncGenerator<string> {
  const store = stores.turnStore;
  const universe = await universeOrThrow(store, universeId);
  const viewer = await viewerOf(store, options.audience);
  const head = await store.headPosition(universeId);
  const from = options.ancestry === "reference" && universe.parentId ? (universe.branchPosition ?? 0) : 0;
  const state = viewState((await store.stateAt(universeId, head)).state, viewer);

  let intro = `# ${markdownLiteral(universe.name)}\n\n`;
  if (state.universe.premise) intro += `${markdownParagraph(state.universe.premise)}\n\n`;
  if (universe.parentId)
    intro += `*A branch of ${universe.parentId} at turn ${universe.branchPosition}${from > 0 ? `; its story up to there is told in that universe's export` : ""}.*\n\n`;
  yield intro + castOf(state);

  const saves = await savePointsFor(stores.savePoints, universeId, options.audience, head);
  const namesOf = new Map<string, string>();
  for (const playerId of new Set(saves.map((save) => save.playerId)))
    namesOf.set(playerId, (await store.getPlayer(playerId))?.name ?? playerId);
  let nextSave = 0;
  /** The save points named at or before `position` not yet written. */
  const savesThrough = (position: number): string => {
    let text = "";
    for (; nextSave < saves.length && saves[nextSave]!.position <= position; nextSave++) {
      const save = saves[nextSave]!;
      const who = markdownInline(namesOf.get(save.playerId) ?? save.playerId);
      text += `*Save point “${markdownInline(save.name)}”, named by ${who} at turn ${save.position}.*\n\n`;
    }
    return text;
  };

  const open = new Set<string>();
  let chapter = 0;
  let notes: string[] = [];
  let footnote = 0;
  let started = false;
  const closeChapter = (): string => {
    const text = notes.length ? `${notes.join("\n")}\n\n` : "";
    notes = [];
    return text;
  };

  // the story needs no deltas (the largest column stays in the database) nor ids but those of the
  // character and run; a page of turns comes as one text, a turn a line
  const pages = turnJsonPages(store, universeId, from, head, { pageSize: options.pageSize, story: true });
  for await (const { json, last } of pages) {
    let chunk = "";
    // each line parsed as its turn is written: a turn's objects are garbage before the next is
    // read, where a page parsed at once would be copied out of the young generation whole
    for (let at = 0, end = json.indexOf("\n"); end !== -1; at = end + 1, end = json.indexOf("\n", at)) {
      const stored = JSON.parse(json.slice(at, end)) as StoryTurn;
      // a save point closes the turn it was named at: written before the next turn begins
      chunk += savesThrough(stored.position - 1);
      const turn = viewTurn(stored, viewer);
      const characterKey = turn.characterId ?? turn.runId ?? "";
      if (turn.kind === "session_start") {
        if (open.size === 0) {
          chunk += closeChapter();
          chapter += 1;
          started = true;
          chunk += `## Chapter ${chapter}\n\n*${turn.createdAt.slice(0, 10)}*\n\n`;
        }
        open.add(characterKey);
      } else if (!started) {
        started = true;
        chunk += `## Prologue\n\n`;
      }
      if (turn.input.hidden === true && turn.events.length === 0) {
        // withheld from this reader: it happened, nothing more
      } else if (turn.kind === "retcon") {
        const note = typeof turn.input.note === "string" ? turn.input.note : "";
        chunk += `> **Retcon** (turn ${turn.position}): ${markdownParagraph(sentence(note))}\n\n`;
      } else if (turn.kind === "undo") {
        const target = turn.input.targetPosition;
        chunk += `> *Turn ${typeof target === "number" ? target : "?"} was undone.*\n\n`;
      } else {
        const text = prose(turn, viewer);
        if (isSessionTurn(turn.kind)) {
          // who came to the table and who left: a stage direction, not the story
          if (text)
            chunk += `${text.includes("\n") ? markdownParagraph(text) : `*${markdownParagraph(text)}*`}\n\n`;
          if (turn.kind === "session_end") open.delete(characterKey);
          continue;
        }
        let marks = "";
        if (turn.resolution) {
          footnote += 1;
          notes.push(`[^${footnote}]: ${rollFootnote(turn.position, turn.resolution)}`);
          marks += `[^${footnote}]`;
        }
        if (turn.status === "undone") marks += " *(undone)*";
        if (text || marks) chunk += `${markdownParagraph(text || `*Turn ${turn.position}.*`)}${marks}\n\n`;
      }
      if (turn.kind === "session_end") open.delete(characterKey);
    }
    // a chapter's footnotes wait for its end, unless it runs so long that holding them would
    // make memory grow with the universe: then they are written after the page
    yield notes.length >= FOOTNOTES_HELD ? chunk + closeChapter() : chunk;
    options.onProgress?.(last - from, head - from);
  }
  yield savesThrough(head) + closeChapter();
}
