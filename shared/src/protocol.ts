import { z } from "zod";
import { turnSchema, type Turn } from "./turn.ts";
import { compactMemberTurn, expandMemberTurn } from "./member-turn.ts";
import { deltaSchema } from "./delta.ts";
import { prose } from "./plain-text.ts";
import { LIMITS, POSITION_MAX } from "./command.ts";
import { rejectionCodeSchema, type RejectionCode } from "./rejection.ts";

/**
 * Room messages, both ways. The SDK and the server import these names, so a renamed message
 * fails to compile on both sides rather than silently at run time.
 */
export const ClientMessage = {
  Act: "act",
  Undo: "undo",
  Retcon: "retcon",
} as const;

export const ServerMessage = {
  /** To the sender: its command became the turn at this position (see ackSchema). */
  Ack: "ack",
  /** To the sender: its command was refused; nothing changed. */
  Rejected: "rejected",
  /**
   * To everyone: the next turn of the timeline (redacted for non-GMs), as bytes: see
   * encodeTurnMessage.
   */
  Turn: "turn",
  /**
   * durableThrough / persistedThrough advanced: sent at once to members with an acknowledged turn
   * the marks did not cover yet. Every member also has the marks in the synced state.
   */
  Durable: "durable",
  /** To a member as it joins: the newest turns (up to RECENT_TURNS), redacted for non-GMs. */
  Recent: "recent",
  /** To a player at session start: "Last time on…". */
  Recap: "recap",
  /**
   * Prose for a turn as the narrator produces it (narrationMessageSchema): chunks in order, the
   * last one marked `done` with the whole recorded text. Hidden rolls' prose reaches GMs only.
   */
  Narration: "narration",
  /**
   * To game masters: the universe's members or invites changed (an invite accepted or made or
   * revoked, a member added, removed or handed a branch), so a console reads its lists again.
   * Carries nothing else: the lists are a GM's to read over HTTP.
   */
  Members: "members",
} as const;

/** WebSocket close codes the server uses beyond Colyseus's own (4000–4010). */
export const CloseCode = {
  /** The universe moved to another process: open it again through the HTTP API and rejoin. */
  UniverseMoved: 4101,
  /**
   * The run ended (completed or abandoned) while its player was seated: by a game master, or by
   * the player elsewhere. The turn that ended it came first; the session does not rejoin.
   */
  RunClosed: 4102,
  /** A game master removed this player from the universe. */
  MemberRemoved: 4103,
  /**
   * The player logged out everywhere or set a password: every connection made with an earlier
   * token closes. Log in (or use the new session) and join again.
   */
  SessionRevoked: 4104,
  /**
   * The connection came back to its seat more often than the joins a player may make here
   * (LOOM_LIMIT_JOIN_PLAYER): join again, as a join (refused `rate_limited` until one is allowed).
   */
  RejoinRequired: 4105,
  /**
   * A game master's seat whose player is no longer one of the universe's game masters (an
   * operator took them off its `settings.gms`): still a member, they may join as a player or a
   * spectator.
   */
  NoLongerGameMaster: 4106,
} as const;

export const JoinRole = z.enum(["player", "gm", "spectator"]);
export type JoinRole = z.infer<typeof JoinRole>;

export const joinOptionsSchema = z.object({
  role: JoinRole,
  runId: z.string().max(64).optional(),
  /**
   * The client session's own id, the same through its rejoins: messages are told apart by it as
   * well as by player and run, so two sessions of one player (two tabs) never take each other's
   * sequence numbers for retries.
   */
  session: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/)
    .optional(),
});
export type JoinOptions = z.infer<typeof joinOptionsSchema>;

/**
 * A refused join (the room's onAuth or onJoin). Colyseus carries a refusal as a number (an HTTP
 * status here) and a message, so the message is this object as JSON: clients read the code with
 * decodeJoinRefusal, never by matching text.
 */
export const joinRefusalSchema = z.object({ code: rejectionCodeSchema, message: z.string() });
export type JoinRefusal = z.infer<typeof joinRefusalSchema>;

export function encodeJoinRefusal(code: RejectionCode, message: string): string {
  return JSON.stringify({ code, message } satisfies JoinRefusal);
}

/** The refusal a join error's message carries, or null for any other failure (a network error…). */
export function decodeJoinRefusal(message: unknown): JoinRefusal | null {
  if (typeof message !== "string" || !message.startsWith("{")) return null;
  try {
    const parsed = joinRefusalSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const undoMessageSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** The turn to undo; defaults to the latest applied turn (GM) or the player's latest turn. */
  position: z.number().int().min(1).max(POSITION_MAX).optional(),
});
export type UndoMessage = z.infer<typeof undoMessageSchema>;

export const retconMessageSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  note: prose(z.string().min(1).max(LIMITS.textMax)),
  deltas: z.array(deltaSchema).max(100).default([]),
});
export type RetconMessage = z.infer<typeof retconMessageSchema>;

/**
 * The answer to a command that became a turn: its `seq` and the turn's `position`. The actor
 * receives that turn in the `turn` message of the same write, just before the ack, so the ack
 * does not carry it again; it carries `turn` for a duplicate (a retried `seq` whose turn was
 * broadcast earlier, perhaps while the actor had no seat). Servers before 3 Dec 2026 sent `turn`
 * on every ack and no `position`.
 */
export const ackSchema = z.object({
  seq: z.number(),
  duplicate: z.boolean(),
  position: z.number().int().min(1),
  turn: turnSchema.optional(),
});
export type AckMessage = z.infer<typeof ackSchema>;
export const rejectedMessageSchema = z.object({
  seq: z.number().nullable(),
  code: z.string(),
  message: z.string(),
});
export type RejectedMessage = z.infer<typeof rejectedMessageSchema>;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A `turn` message is a ROOM_DATA_BYTES frame whose payload is UTF-8 JSON: for game masters the
 * turn document the HTTP timeline serves (deltas included), for players and spectators its
 * compact form (member-turn.ts: the same fields by position, without the deltas members never
 * get). The server encodes it once per audience; clients decode it with the platform's JSON
 * parser, which reads these string-heavy documents faster than MessagePack does. Every member
 * decodes every turn, so that cost is multiplied by the table's size.
 */
export function encodeTurnMessage(turn: Turn): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(turn));
}

/** A member's turn (see memberTurn on the server) as its `turn` message: the compact form. */
export function encodeMemberTurnMessage(turn: Turn): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(compactMemberTurn(turn)));
}

/** Either form of a `turn` message, as the turn document; `universeId` is the receiver's room. */
export function decodeTurnMessage(bytes: Uint8Array, universeId: string): Turn {
  const parsed: unknown = JSON.parse(utf8Decoder.decode(bytes));
  return Array.isArray(parsed) ? expandMemberTurn(parsed, universeId) : (parsed as Turn);
}

/** How many of the newest turns a joining member is sent; older history is paged over HTTP. */
export const RECENT_TURNS = 50;

export const recentMessageSchema = z.object({ turns: z.array(turnSchema).max(RECENT_TURNS) });
export type RecentMessage = z.infer<typeof recentMessageSchema>;

export const durableMessageSchema = z.object({ durableThrough: z.number(), persistedThrough: z.number() });
export type DurableMessage = z.infer<typeof durableMessageSchema>;

/**
 * One piece of a turn's prose. Chunks of one position arrive in order, the last piece on the
 * message with `done` (empty when nothing was left). The narration as recorded is the chunks
 * joined, unless that message carries `text`, which then replaces them (the template tells whole;
 * a narrator that failed halfway is replaced by the template, and its partial chunks by that text).
 */
export const narrationMessageSchema = z.object({
  position: z.number().int().min(1),
  chunk: z.string(),
  /**
   * How many characters of this telling were sent before this chunk: 0 starts a telling (a GM's
   * retelling, or the next process's after a crash), and a member that did not get them all (its
   * connection was lost meanwhile) knows its pieces do not spell the record.
   */
  at: z.number().int().min(0).optional(),
  done: z.boolean(),
  text: z.string().optional(),
  narrator: z.string().optional(),
  fallback: z.string().nullable().optional(),
});
export type NarrationMessage = z.infer<typeof narrationMessageSchema>;
