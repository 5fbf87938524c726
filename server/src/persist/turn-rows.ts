import type { Turn } from "@loom/shared";
import { copyJson, copyJsonText, copyText } from "./copy-text.ts";
import type { EncodedTurn } from "./turn-store.ts";

/** The columns a turn is written to with COPY, by appends and imports alike (turnRow). */
export const TURN_COLUMNS = [
  "universe_id",
  "position",
  "created_at",
  "actor",
  "kind",
  "status",
  "undone_by",
  "id",
  "run_id",
  "character_id",
  "player_id",
  "input",
  "resolution",
  "events",
  "deltas",
  "narration",
] as const;

/** A turn as a line of COPY text in TURN_COLUMNS' order; `undoneBy` for an imported turn undone later in its file. */
export function turnRow(turn: Turn | EncodedTurn, undoneBy: number | undefined): string {
  const json =
    "json" in turn
      ? `${copyJsonText(turn.json.input)}\t${copyJsonText(turn.json.resolution)}\t${copyJsonText(turn.json.events)}\t` +
        `${copyJsonText(turn.json.deltas)}\t${copyJsonText(turn.json.narration)}`
      : `${copyJson(turn.input)}\t${copyJson(turn.resolution)}\t${copyJson(turn.events)}\t` +
        `${copyJson(turn.deltas)}\t${copyJson(turn.narration)}`;
  return (
    `${copyText(turn.universeId)}\t${turn.position}\t${copyText(turn.createdAt)}\t${turn.actor}\t${turn.kind}\t` +
    `${undoneBy === undefined ? turn.status : "undone"}\t${undoneBy ?? "\\N"}\t${copyText(turn.id)}\t` +
    `${copyText(turn.runId)}\t${copyText(turn.characterId)}\t${copyText(turn.playerId)}\t${json}\n`
  );
}
