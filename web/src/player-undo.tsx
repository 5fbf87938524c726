import { useEffect, useState } from "preact/hooks";
import type { Turn } from "@loom/client-sdk";
import { playersLatestTurn, rolledDice, undoRefusal } from "@loom/shared";
import { rejectedError } from "./api.ts";
import type { Live } from "./live.ts";
import { useResend } from "./resend.ts";
import { ErrorLine, useTask } from "./ui.tsx";

/** The turn a player's undo takes back, or why there is none. */
export type PlayerUndoTarget =
  { turn: Turn; why: null; rolled?: undefined } | { turn: null; why: string; rolled?: Turn };

/**
 * What a player may undo, by the server's rule: only the last thing they did, the newest turn
 * naming them, if it may be undone. After an undo, or once they came back to the table (a session
 * start), nothing is theirs to undo until they act again. `turns` oldest first.
 */
export function playerUndoTarget(turns: readonly Turn[], playerId: string): PlayerUndoTarget {
  const newest = playersLatestTurn(turns, playerId);
  if (!newest) return { turn: null, why: "Nothing of yours to undo yet: you have not acted here." };
  const at = `#${newest.position}`;
  if (newest.kind === "undo")
    return {
      turn: null,
      why: `You undid your latest turn (#${String(newest.input.targetPosition)}): there is nothing more to undo until you act again.`,
    };
  if (newest.kind === "session_start")
    return { turn: null, why: "Nothing to undo since you came back to the table: act first." };
  if (newest.kind === "session_end") return { turn: null, why: "Nothing to undo: your session ended." };
  if (newest.status === "undone")
    return { turn: null, why: `Your latest turn (${at}) was undone: there is nothing more to undo.` };
  if (rolledDice(newest))
    return {
      turn: null,
      rolled: newest,
      why: `Your latest turn (${at}) rolled the dice: a roll stands. Ask your game master to undo it.`,
    };
  const refused = undoRefusal({ kind: "player", playerId }, newest);
  if (refused)
    return { turn: null, why: `Your latest turn ${refused.message.replace(/^turn \d+ /, `(${at}) `)}.` };
  return { turn: newest, why: null };
}

/**
 * "Undo my turn #N": names the turn it takes back, says why it is off when there is none, and
 * goes as the action forms' commands do, again with the same seq after no answer came.
 */
export function PlayerUndo({ live, playerId }: { live: Live; playerId: string }) {
  const task = useTask();
  // the turn undone, and the newest turn of the player's once it was (their undo, or before it)
  const [done, setDone] = useState<{ target: number; at: number } | null>(null);
  const own = playersLatestTurn(live.turns, playerId)?.position ?? 0;
  const undone = (target: number, at: number) => {
    task.clear();
    setDone({ target, at });
  };
  const resend = useResend(live, (turn) => undone(Number(turn.input.targetPosition), turn.position));
  // what the button said last speaks of the timeline as it was: once the player acts again it is old
  useEffect(() => {
    if (done && own > done.at) setDone(null);
    if (!done || own !== done.at) task.clear();
  }, [own]);
  const target = playerUndoTarget(live.turns, playerId);
  const position = target.turn?.position;
  const why = task.busy || done ? null : target.why;
  const undo = () =>
    void task.run(async () => {
      if (position === undefined) return;
      setDone(null);
      const result = await resend.undo(position);
      if (result.ok) return undone(position, result.turn.position);
      // a send that got no answer, tried again after it was applied after all: the turn is undone
      if (
        result.rejection.code === "nothing_to_undo" &&
        result.rejection.message.includes(`turn ${position} is already undone`)
      )
        return undone(position, own);
      throw rejectedError(result.rejection);
    });
  return (
    <div class="player-undo">
      <button
        type="button"
        disabled={task.busy || position === undefined || live.status !== "live"}
        aria-busy={task.busy}
        aria-describedby={why ? "player-undo-why" : undefined}
        onClick={undo}
      >
        {task.busy ? "Undoing…" : position === undefined ? "Undo my turn" : `Undo my turn #${position}`}
      </button>
      {why ? (
        <p class={`muted ${target.rolled ? "roll-stands" : "undo-why"}`} id="player-undo-why">
          {why}
        </p>
      ) : null}
      <ErrorLine error={task.error} />
      {done ? (
        <p role="status" class="tool-result">
          Turn #{done.target} undone.
        </p>
      ) : null}
    </div>
  );
}
