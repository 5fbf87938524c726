import { useEffect, useRef, useState } from "preact/hooks";
import { FINAL_REFUSALS, LoomError, type Recap, type Turn, type UniverseSession } from "@loom/client-sdk";
import { CloseCode, type NarrationMessage, type RoomStateJson } from "@loom/shared";
import { client, describeError } from "./api.ts";
import { tabSession } from "./tab-session.ts";

/** Why the server closed a member's connection for good, in words. */
const LEFT_BECAUSE: Record<number, string> = {
  [CloseCode.RunClosed]: "your run is over (completed or abandoned): its story stays in the timeline",
  [CloseCode.MemberRemoved]: "a game master removed you from this universe",
  [CloseCode.SessionRevoked]: "you logged out everywhere or changed your password: sign in again",
  [CloseCode.NoLongerGameMaster]:
    "you are no longer a game master of this universe: you may still join it as a player or spectator",
};

/**
 * A join refused for one of these reasons is refused again however often it is tried: the page
 * says why and stops. Any other failure (the server unreachable, restarting, busy, the player's
 * other tabs holding every connection they may have) is tried again.
 */
const REFUSED_FOR_GOOD = new Set([...FINAL_REFUSALS].filter((code) => code !== "too_many_connections"));

/** How often a page whose session was given up tries to join again, by itself. */
export const REJOIN_EVERY_MS = 5_000;

const TRYING_AGAIN = `Trying again every ${REJOIN_EVERY_MS / 1000} seconds; you need not reload the page.`;
const CONNECTION_LOST = `Lost the connection to the server, and it did not come back within a minute. ${TRYING_AGAIN}`;

/**
 * A frozen server keeps its connections open and says nothing, so the SDK never hears the
 * connection drop: this often the page looks whether anything arrived lately, and after this
 * long a silence it pings the room; a ping unanswered this long makes the page `unanswered`.
 */
export const LIVENESS_EVERY_MS = 2_500;
export const SILENCE_MS = 5_000;

/**
 * The synced room state as plain data (the schema instances' toJSON), as shared describes it;
 * the scene and the characters arrive with the first patch.
 */
export type LiveState = Omit<RoomStateJson, "scene" | "characters"> &
  Partial<Pick<RoomStateJson, "scene" | "characters">>;

export interface Live {
  session: UniverseSession | null;
  /**
   * `reconnecting`: the connection was lost and the SDK is rejoining (commands wait meanwhile).
   * `unanswered`: the connection is open but the server answered no ping for SILENCE_MS (frozen
   * or overloaded); live again as soon as anything arrives from it.
   * `offline`: the SDK gave the session up (the server was gone too long); the page joins again
   * every REJOIN_EVERY_MS, or at once with `rejoin`. `left`: over for good (`error` says why).
   */
  status: "joining" | "live" | "unanswered" | "reconnecting" | "offline" | "left";
  /** The code the server closed the session with, once it is `left` by a close (a CloseCode). */
  closedWith: number | null;
  error: string | null;
  state: LiveState | null;
  turns: Turn[];
  /** Prose per position as it streams in; `done` once the recorded text arrived. */
  narration: Map<number, { text: string; done: boolean }>;
  recap: Recap | null;
  /** Bumped on every change, for effects that follow the timeline. */
  version: number;
  /** Joins again now (while `offline`). */
  rejoin: () => void;
}

/** A telling's pieces as this page heard them, and where the next one should begin. */
interface Heard {
  text: string;
  next: number;
}

/**
 * Adds a piece of prose to what was heard of its telling. Pieces missed (sent before the page
 * joined, or while its connection was down) leave a "…" where they were: a telling joined halfway
 * reads "…over the bay", not a sentence that starts in its middle as if it were whole. The record
 * replaces it all once the telling is done.
 */
function hearPiece(pieces: Map<number, Heard>, message: NarrationMessage): string {
  let heard = pieces.get(message.position);
  if (!heard || message.at === 0) {
    heard = { text: "", next: 0 };
    pieces.set(message.position, heard);
  }
  const at = message.at ?? heard.next;
  if (at > heard.next) heard.text += `…${message.chunk}`;
  else heard.text += message.chunk.slice(heard.next - at);
  heard.next = Math.max(heard.next, at + message.chunk.length);
  return heard.text;
}

function plain(state: unknown): LiveState | null {
  const encoded = state as { toJSON?: () => unknown } | null;
  return encoded?.toJSON ? (encoded.toJSON() as LiveState) : null;
}

/**
 * Joins a universe's room for as long as the component is mounted and follows it: synced state,
 * turns (`recent` then each `turn`), streamed narration and the recap. Renders are batched to one
 * per frame, so a burst of turns does not re-render the page per message.
 */
export function useLive(universeId: string, role: "player" | "gm" | "spectator", runId?: string): Live {
  const [, setTick] = useState(0);
  // each new value joins again: a page whose session was given up tries once more
  const [attempt, setAttempt] = useState(0);
  const live = useRef<Live>({
    session: null,
    status: "joining",
    closedWith: null,
    error: null,
    state: null,
    turns: [],
    narration: new Map(),
    recap: null,
    version: 0,
    rejoin: () => setAttempt((n) => n + 1),
  });
  /** Which seat the page holds: a new one starts over, the same one again keeps what is shown. */
  const seat = useRef("");
  useEffect(() => {
    let closed = false;
    let session: UniverseSession | null = null;
    let frame = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let liveness: ReturnType<typeof setInterval> | undefined;
    const current = live.current;
    const changed = () => {
      current.version++;
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (!closed) setTick((n) => n + 1);
      });
    };
    /** No seat, for now (`why`): said, and tried again by itself. */
    const offline = (why: string) => {
      current.status = "offline";
      current.session = null;
      current.error = why;
      clearTimeout(retry);
      retry = setTimeout(current.rejoin, REJOIN_EVERY_MS);
      changed();
    };
    const key = `${universeId} ${role} ${runId ?? ""}`;
    if (seat.current !== key) {
      seat.current = key;
      Object.assign(current, {
        session: null,
        status: "joining",
        closedWith: null,
        error: null,
        turns: [],
        recap: null,
      });
      current.narration = new Map();
      changed();
    }
    // the browser says the network is back: no need to wait for the next try
    const online = () => {
      if (current.status === "offline") current.rejoin();
    };
    addEventListener("online", online);
    // A game master's or spectator's tab closed gives its seat up at once, not after the window
    // the server keeps it for. Not a player's: a reload would end their play session and start
    // another with a recap, where the kept seat, taken over by the reloaded page, goes on with it.
    const hide = (event: PageTransitionEvent) => {
      if (event.persisted || role === "player" || !session) return;
      closed = true;
      void session.leave();
    };
    addEventListener("pagehide", hide);
    client.joinUniverse(universeId, { role, runId, keepTurns: 500, session: tabSession }).then(
      (joined) => {
        if (closed) {
          void joined.leave();
          return;
        }
        session = joined;
        current.session = joined;
        current.status = "live";
        current.error = null;
        current.state = plain(joined.room.state);
        const pieces = new Map<number, Heard>();
        // when the server was last heard from, and since when a ping waits for its answer
        let heard = Date.now();
        let pinged: number | null = null;
        const hear = () => {
          heard = Date.now();
          pinged = null;
          if (current.status !== "unanswered") return;
          current.status = "live";
          changed();
        };
        liveness = setInterval(() => {
          if (current.status !== "live" && current.status !== "unanswered") return;
          const now = Date.now();
          if (pinged !== null) {
            if (now - pinged < SILENCE_MS) return;
            if (current.status === "unanswered") {
              // asked again: a ping lost on the way never comes back by itself
              pinged = now;
              joined.room.ping(hear);
              return;
            }
            current.status = "unanswered";
            changed();
          } else if (now - heard >= SILENCE_MS) {
            pinged = now;
            joined.room.ping(hear);
          }
        }, LIVENESS_EVERY_MS);
        const follow = () => {
          hear();
          current.turns = [...joined.turns];
          for (const turn of joined.turns)
            if (turn.narration && !current.narration.get(turn.position)?.done) {
              current.narration.set(turn.position, { text: turn.narration.text, done: true });
              pieces.delete(turn.position);
            }
          // the session keeps the newest turns only: prose of those it let go goes too
          const oldest = joined.turns[0]?.position;
          if (oldest !== undefined)
            for (const position of current.narration.keys())
              if (position < oldest) current.narration.delete(position);
          changed();
        };
        follow();
        joined.on("recent", follow);
        joined.on("turn", follow);
        joined.on("state", (state) => {
          hear();
          current.state = plain(state);
          changed();
        });
        joined.on("narration", (message) => {
          hear();
          // the SDK's telling: a retelling starts over, lost pieces are replaced by the record
          const told = joined.narrationSoFar(message.position);
          if (!told) return;
          if (told.done) pieces.delete(message.position);
          current.narration.set(
            message.position,
            told.done ? told : { text: hearPiece(pieces, message), done: false },
          );
          if (message.done && !told.done)
            void joined.narrationText(message.position).then((text) => {
              current.narration.set(message.position, { text, done: true });
              changed();
            });
          changed();
        });
        joined.on("recap", (recap) => {
          hear();
          current.recap = recap;
          changed();
        });
        joined.on("reconnecting", () => {
          current.status = "reconnecting";
          changed();
        });
        joined.on("reconnected", () => {
          heard = Date.now();
          pinged = null;
          current.status = "live";
          changed();
        });
        joined.on("leave", (code) => {
          if (closed) return;
          const because = LEFT_BECAUSE[code];
          clearInterval(liveness);
          if (!because) return offline(CONNECTION_LOST);
          current.status = "left";
          current.closedWith = code;
          current.error = because;
          changed();
        });
      },
      (error: unknown) => {
        if (closed) return;
        const code = error instanceof LoomError ? error.code : null;
        // a retry that failed too: what the page said first still stands
        if (code === null || !REFUSED_FOR_GOOD.has(code))
          return offline(
            current.status === "offline" && current.error
              ? current.error
              : `Could not join the universe (${describeError(error)}). ${TRYING_AGAIN}`,
          );
        current.status = "left";
        current.error = describeError(error);
        changed();
      },
    );
    return () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(liveness);
      removeEventListener("online", online);
      removeEventListener("pagehide", hide);
      if (frame) cancelAnimationFrame(frame);
      if (session) void session.leave();
    };
  }, [universeId, role, runId, attempt]);
  return live.current;
}
