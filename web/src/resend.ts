import { useEffect, useRef, useState } from "preact/hooks";
import type { ActResult, CommandInput, Turn } from "@loom/client-sdk";
import type { Live } from "./live.ts";

/** What the page says of a command the server did not answer in time. */
const OUTCOME_UNKNOWN =
  "the server did not answer in time, so this may or may not have been recorded. Send it again unchanged to find out: it is recorded at most once.";

/**
 * Sends a form's commands so that trying one again after no answer came (`outcome_unknown`: it
 * may have been applied) cannot record it twice: the same command goes again with the same seq,
 * which the server applies at most once, answering with the turn it made. Should that turn arrive
 * on the timeline meanwhile, `onArrived` is given it, as if the answer had come.
 */
export function useResend(live: Live, onArrived: (turn: Turn) => void) {
  const unsure = useRef<{ command: string; seq: number } | null>(null);
  // a new value when a command's outcome becomes unknown: the timeline may already hold its turn
  const [unknownSince, setUnknownSince] = useState(0);

  useEffect(() => {
    const awaited = unsure.current;
    if (!awaited) return;
    const turn = live.turns.find((turn) => (turn.input as { seq?: unknown }).seq === awaited.seq);
    if (!turn) return;
    unsure.current = null;
    onArrived(turn);
  }, [live.version, unknownSince]);

  return async (command: CommandInput): Promise<ActResult> => {
    const session = live.session;
    if (!session) throw new Error("not connected to the universe");
    const key = JSON.stringify(command);
    const seq = unsure.current?.command === key ? unsure.current.seq : session.nextSeq();
    unsure.current = null;
    const result = await session.act(command, { seq });
    if (result.ok || result.rejection.code !== "outcome_unknown") return result;
    unsure.current = { command: key, seq };
    setUnknownSince((n) => n + 1);
    return { ok: false, rejection: { ...result.rejection, message: OUTCOME_UNKNOWN } };
  };
}
