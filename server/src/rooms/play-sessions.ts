import { refreshesFatePoints, sessionEndedAt, type Recap, type SessionEndReason } from "@loom/shared";
import { services } from "../services.ts";
import { log } from "../log.ts";
import type { RunRecord } from "../persist/turn-store.ts";
import type { UniverseAuthority } from "../universe/authority.ts";
import { endPlaySession, startPlaySession, type DropMark, type OpenSession } from "../universe/continuity.ts";

interface Seat {
  characterId: string;
  /** Clients of the run in this room (tabs, devices), a dropped one until its window lapses. */
  holders: number;
  /** Those of them connected now. */
  connected: number;
  /**
   * Where the universe stood when the last connected one went (dropped, or left while a dropped
   * one still held the seat); null while one is connected. The session ends there if none comes
   * back: the turns played while the seat was kept were not seen at the table.
   */
  gone: DropMark | null;
  opening: Promise<{ session: OpenSession; recap: Recap | null } | null>;
}

/**
 * The play sessions of one universe's room, one per run however many clients play it: a second
 * tab joins the session that is open instead of starting another, and the session ends when the
 * run's last client leaves. Fate points refresh only when a session starts long enough after the
 * character's previous one ended (`LOOM_SESSION_GAP_SECONDS`), in this run or in one the character
 * played before: fate points are the character's, and abandoning a run to start another must not
 * refill them.
 */
export class PlaySessions {
  private readonly seats = new Map<string, Seat>();
  /**
   * When each character's last session here ended, and endings still under way, by character. An
   * end older than the session gap is forgotten: it refreshes fate points as the `session_end`
   * turn, read instead, would (see `open`), and a universe open for months sees runs without end.
   */
  private readonly endedAt = new Map<string, number>();
  private readonly ending = new Map<string, Promise<void>>();

  constructor(private readonly authority: UniverseAuthority) {}

  /**
   * A client joined with a run: the recap of the session it starts, or null when it joins one
   * already open (a second tab): that recap was built for the first, at its start, and no longer
   * tells what happened since.
   */
  async enter(run: RunRecord, playerId: string): Promise<Recap | null> {
    const seat = this.seats.get(run.id);
    if (seat) {
      seat.holders += 1;
      this.connect(seat);
      await seat.opening;
      return null;
    }
    const opening = this.open(run, playerId);
    this.seats.set(run.id, { characterId: run.characterId, holders: 1, connected: 1, gone: null, opening });
    return (await opening)?.recap ?? null;
  }

  /** A client of the run lost its connection; its seat is kept for its reconnection window. */
  dropped(runId: string): void {
    const seat = this.seats.get(runId);
    if (seat) this.disconnect(seat);
  }

  /** A dropped client of the run is back on its seat: the session goes on. */
  returned(runId: string): void {
    const seat = this.seats.get(runId);
    if (seat) this.connect(seat);
  }

  /**
   * A client of the run left: `lapsed` if it had dropped and did not come back in time. The last
   * one ends the session, where the last connected one went: `interrupted` when the room closed
   * under it (the process stopping, the universe moving), not the player.
   */
  leave(runId: string, lapsed = false, reason: SessionEndReason = "left"): Promise<void> | null {
    const seat = this.seats.get(runId);
    if (!seat) return null;
    seat.holders -= 1;
    if (!lapsed) this.disconnect(seat);
    if (seat.holders > 0) return null;
    this.seats.delete(runId);
    const { characterId } = seat;
    // a seat left by a connected client has no mark: its session ends now
    const endedAt = seat.gone ? Date.parse(seat.gone.at) : Date.now();
    this.forgetOldEnds(Date.now());
    this.endedAt.set(characterId, endedAt);
    const ending = this.close(seat, reason).finally(() => {
      this.endedAt.set(characterId, seat.gone ? endedAt : Date.now());
      if (this.ending.get(characterId) === ending) this.ending.delete(characterId);
    });
    this.ending.set(characterId, ending);
    return ending;
  }

  private connect(seat: Seat): void {
    seat.connected += 1;
    seat.gone = null;
  }

  private disconnect(seat: Seat): void {
    seat.connected = Math.max(0, seat.connected - 1);
    if (seat.connected > 0 || seat.holders === 0) return;
    const { head, state } = this.authority;
    seat.gone = { position: head, at: new Date().toISOString(), state };
  }

  private forgetOldEnds(now: number): void {
    const gapMs = services().config.sessionGapSeconds * 1000;
    for (const [characterId, at] of this.endedAt) if (now - at >= gapMs) this.endedAt.delete(characterId);
  }

  private async open(
    run: RunRecord,
    playerId: string,
  ): Promise<{ session: OpenSession; recap: Recap | null } | null> {
    await this.ending.get(run.characterId);
    const { turnStore, config } = services();
    // The run's record follows persisted turns: persist the ones so far, then read it once (its
    // last session may have just ended), for the fate refresh and the recap alike.
    await this.authority.flush();
    run = (await turnStore.getRun(run.id)) ?? run;
    const refresh = refreshesFatePoints({
      previousEndedAt: this.endedAt.get(run.characterId) ?? (await this.previousEnd(run)),
      now: Date.now(),
      gapMs: config.sessionGapSeconds * 1000,
    });
    const started = await startPlaySession(turnStore, this.authority, run, playerId, refresh);
    if ("rejected" in started) {
      log.warn(`session for run ${run.id} could not start: ${started.message}`);
      return null;
    }
    return started;
  }

  /**
   * When the character's previous session here ended, in this run or an earlier one (or, in a
   * branch, in its parent before the branch's start), from its `session_end` turn (an earlier
   * room's; an interrupted session ended when its play stopped).
   */
  private async previousEnd(run: RunRecord): Promise<number | null> {
    const runs = await services().turnStore.listRuns({ characterId: run.characterId });
    let position: number | null = null;
    for (const each of [run, ...runs]) {
      const end = each.universeId === run.universeId ? each.lastSessionEndPosition : null;
      if (end !== null && (position === null || end > position)) position = end;
    }
    if (position === null) {
      // none of its runs here has ended a session: a branch's timeline goes on into its parent's,
      // where the character may have played up to the branch's start (a new run there is no rest)
      const page = await services().turnStore.timeline(run.universeId, {
        characterId: run.characterId,
        kind: "session_end",
        order: "desc",
        limit: 1,
      });
      const inherited = page.turns[0];
      return inherited ? Date.parse(sessionEndedAt(inherited)) : null;
    }
    const turn =
      this.authority.recentTurns.find((recent) => recent.position === position) ??
      (await services().turnStore.getTurn(run.universeId, position));
    return turn ? Date.parse(sessionEndedAt(turn)) : null;
  }

  private async close(seat: Seat, reason: SessionEndReason): Promise<void> {
    const started = await seat.opening;
    if (!started) return;
    try {
      // a client that dropped while its session was still starting left it where it began
      const { gone } = seat;
      const { startPosition, before } = started.session;
      const dropped =
        gone && (gone.position >= startPosition ? gone : { ...gone, position: startPosition, state: before });
      const ended = await endPlaySession(
        services().turnStore,
        this.authority,
        started.session,
        reason === "interrupted"
          ? { reason, ...(dropped ? { stoppedAt: dropped.at } : {}) }
          : { ...(dropped ? { dropped } : {}) },
      );
      if ("rejected" in ended) log.warn(`session ${started.session.id} did not end: ${ended.message}`);
    } catch (error) {
      log.warn(`session ${started.session.id} did not end cleanly`, { err: error });
    }
  }
}
