import { useEffect, useRef, useState } from "preact/hooks";
import type { Recap, Turn, UniverseSession } from "@loom/client-sdk";
import { CloseCode, type RoomStateJson } from "@loom/shared";
import { client, describeError } from "./api.ts";

/** Why the server closed a member's connection for good, in words. */
const LEFT_BECAUSE: Record<number, string> = {
  [CloseCode.RunClosed]: "your run ended or was paused elsewhere",
  [CloseCode.MemberRemoved]: "a game master removed you from this universe",
  [CloseCode.SessionRevoked]: "you logged out everywhere or changed your password: sign in again",
};

/**
 * The synced room state as plain data (the schema instances' toJSON), as shared describes it;
 * the scene and the characters arrive with the first patch.
 */
export type LiveState = Omit<RoomStateJson, "scene" | "characters"> &
  Partial<Pick<RoomStateJson, "scene" | "characters">>;

export interface Live {
  session: UniverseSession | null;
  /** `reconnecting`: the connection was lost and the SDK is rejoining (commands wait meanwhile). */
  status: "joining" | "live" | "reconnecting" | "left";
  error: string | null;
  state: LiveState | null;
  turns: Turn[];
  /** Prose per position as it streams in; `done` once the recorded text arrived. */
  narration: Map<number, { text: string; done: boolean }>;
  recap: Recap | null;
  /** Bumped on every change, for effects that follow the timeline. */
  version: number;
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
  const live = useRef<Live>({
    session: null,
    status: "joining",
    error: null,
    state: null,
    turns: [],
    narration: new Map(),
    recap: null,
    version: 0,
  });
  useEffect(() => {
    let closed = false;
    let session: UniverseSession | null = null;
    let frame = 0;
    const current = live.current;
    const changed = () => {
      current.version++;
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (!closed) setTick((n) => n + 1);
      });
    };
    Object.assign(current, { session: null, status: "joining", error: null, turns: [], recap: null });
    current.narration = new Map();
    changed();
    client.joinUniverse(universeId, { role, runId, keepTurns: 500 }).then(
      (joined) => {
        if (closed) {
          void joined.leave();
          return;
        }
        session = joined;
        current.session = joined;
        current.status = "live";
        current.state = plain(joined.room.state);
        const follow = () => {
          current.turns = [...joined.turns];
          for (const turn of joined.turns)
            if (turn.narration && !current.narration.get(turn.position)?.done)
              current.narration.set(turn.position, { text: turn.narration.text, done: true });
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
          current.state = plain(state);
          changed();
        });
        joined.on("narration", (message) => {
          // the SDK's telling: a retelling starts over, lost pieces are replaced by the record
          const told = joined.narrationSoFar(message.position);
          if (!told) return;
          current.narration.set(message.position, told);
          if (message.done && !told.done)
            void joined.narrationText(message.position).then((text) => {
              current.narration.set(message.position, { text, done: true });
              changed();
            });
          changed();
        });
        joined.on("recap", (recap) => {
          current.recap = recap;
          changed();
        });
        joined.on("reconnecting", () => {
          current.status = "reconnecting";
          changed();
        });
        joined.on("reconnected", () => {
          current.status = "live";
          changed();
        });
        joined.on("leave", (code) => {
          current.status = "left";
          if (!closed) current.error = LEFT_BECAUSE[code] ?? `left the universe (close code ${code})`;
          changed();
        });
      },
      (error: unknown) => {
        current.status = "left";
        current.error = describeError(error);
        changed();
      },
    );
    return () => {
      closed = true;
      if (frame) cancelAnimationFrame(frame);
      if (session) void session.leave();
    };
  }, [universeId, role, runId]);
  return live.current;
}
