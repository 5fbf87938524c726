import { useEffect, useRef, useState } from "preact/hooks";
import type { ActResult, CommandInput, Turn, UniverseSession } from "@loom/client-sdk";
import type { Live } from "./live.ts";

/** What the page says of a command the server did not answer in time. */
const OUTCOME_UNKNOWN =
  "the server did not answer in time, so this may or may not have been recorded. Send it again unchanged to find out: it is recorded at most once.";

/** Sends a form's commands and undos, each again with the same seq after no answer came. */
export interface Resend {
  act: (command: CommandInput) => Promise<ActResult>;
  /** Undoes the turn at `position` (the one the button named, not whichever is latest then). */
  undo: (position: number) => Promise<ActResult>;
}

/**
 * Sends a form's commands so that trying one again after no answer came (`outcome_unknown`: it
 * may have been applied) cannot record it twice: the same command goes again with the same seq,
 * which the server applies at most once, answering with the turn it made. Should that turn arrive
 * on the timeline meanwhile, `onArrived` is given it, as if the answer had come.
 */
export function useResend(live: Live, onArrived: (turn: Turn) => void): Resend {
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

  /** Sends what `key` names with `send`: with the seq it went with last, if its outcome is unknown. */
  const resend = async (
    key: string,
    send: (session: UniverseSession, seq: number) => Promise<ActResult>,
  ): Promise<ActResult> => {
    const session = live.session;
    if (!session) throw new Error("not connected to the universe");
    const seq = unsure.current?.command === key ? unsure.current.seq : session.nextSeq();
    unsure.current = null;
    const result = await send(session, seq);
    if (result.ok || result.rejection.code !== "outcome_unknown") return result;
    unsure.current = { command: key, seq };
    setUnknownSince((n) => n + 1);
    return { ok: false, rejection: { ...result.rejection, message: OUTCOME_UNKNOWN } };
  };

  return {
    act: (command) => resend(JSON.stringify(command), (session, seq) => session.act(command, { seq })),
    undo: (position) => resend(`undo ${position}`, (session, seq) => session.undo(position, { seq })),
  };
}
