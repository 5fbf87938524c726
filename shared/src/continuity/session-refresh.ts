/**
 * Fate points refresh at the start of a play session (Fate Core p. 80): an evening at the table,
 * not a socket. A player who returns less than `gapMs` after the run's previous session ended
 * (a reconnect, a reload, a second tab) continues that play session and gets no refresh; otherwise
 * spending fate points and reconnecting would refill them without end.
 */
export function refreshesFatePoints(input: {
  /** When the run's previous play session ended (ms since the epoch), or null for its first. */
  previousEndedAt: number | null;
  now: number;
  gapMs: number;
}): boolean {
  if (input.previousEndedAt === null) return true;
  return input.now - input.previousEndedAt >= input.gapMs;
}
