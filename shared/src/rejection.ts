import { z } from "zod";

/**
 * Stable rejection codes shared by the rules, the server and the SDK. A rejection is data, never an
 * exception: the server sends it to the client that caused it, and nothing changes.
 */
export const RejectionCode = {
  InvalidMessage: "invalid_message",
  InvalidAction: "invalid_action",
  /** The turn would leave a value the state cannot hold (a number past the finite range). */
  InvalidValue: "invalid_value",
  NotYourCharacter: "not_your_character",
  NotAllowed: "not_allowed",
  RunNotActive: "run_not_active",
  StalePosition: "stale_position",
  UnknownCharacter: "unknown_character",
  UnknownTarget: "unknown_target",
  UnknownSkill: "unknown_skill",
  UnknownAspect: "unknown_aspect",
  NoFatePoints: "no_fate_points",
  NoFreeInvoke: "no_free_invoke",
  /** A free invoke (or boost) another character earned: only they, or a game master, spend it. */
  NotYourFreeInvoke: "not_your_free_invoke",
  TakenOut: "taken_out",
  NothingToUndo: "nothing_to_undo",
  UndoConflict: "undo_conflict",
  RateLimited: "rate_limited",
  PayloadTooLarge: "payload_too_large",
  /**
   * A request body that is not JSON (another Content-Type, or none): refused rather than read as
   * no body, which would run the route with its defaults.
   */
  UnsupportedMediaType: "unsupported_media_type",
  UnknownUniverse: "unknown_universe",
  UnknownRun: "unknown_run",
  Unauthorized: "unauthorized",
  /** An access or refresh token past its lifetime: refresh, or log in again. */
  TokenExpired: "token_expired",
  /** A login name and password that do not match an account (which one is wrong is not said). */
  InvalidCredentials: "invalid_credentials",
  NameTaken: "name_taken",
  NotFound: "not_found",
  /** An endpoint asked with a method it does not answer (HTTP 405; `Allow` lists those it does). */
  MethodNotAllowed: "method_not_allowed",
  Conflict: "conflict",
  /** A read asked for more than one request may return (e.g. a diff over too many turns). */
  RangeTooLarge: "range_too_large",
  Unavailable: "unavailable",
  /**
   * A command sent on a connection that was lost (or timed out) before its answer came: it may
   * have been applied. Send it again with the same seq: it is applied at most once.
   */
  OutcomeUnknown: "outcome_unknown",
  /** The universe's dice secret is public: it rolls no more dice (a branch of it gets a new one). */
  DiceRevealed: "dice_revealed",
  /** A private universe's reads, seats and characters are for its members and game masters. */
  NotAMember: "not_a_member",
  /** An invite code that does not exist, was revoked, expired or is used up. */
  InvalidInvite: "invalid_invite",
  /** The game master removed this player from the universe; an invite does not bring them back. */
  MemberRemoved: "member_removed",
  TooManyCharacters: "too_many_characters",
  /** A new character's sheet is over the universe's limits (skill cap, skill points, refresh). */
  OverCharacterLimits: "over_character_limits",
  TooManyConnections: "too_many_connections",
  /** An Idempotency-Key sent again with a different request, or a room message's seq with another command. */
  IdempotencyKeyReused: "idempotency_key_reused",
  /** An Idempotency-Key whose first request is still running. */
  RequestInProgress: "request_in_progress",
  /** The universe does not open: the snapshot its state starts from does not match its checksum (`loom verify --repair`). */
  DamagedSnapshot: "damaged_snapshot",
  /** A save point is named at the player's own latest turn, not elsewhere. */
  NotYourLatestTurn: "not_your_latest_turn",
  /** The player already has a save point of that name in this universe. */
  SavePointNameTaken: "save_point_name_taken",
  /** The player holds as many save points in this universe as a player may (LOOM_MAX_SAVE_POINTS). */
  TooManySavePoints: "too_many_save_points",
  /** The player created as many universes, branches included, as a player may (LOOM_MAX_UNIVERSES_PER_PLAYER). */
  TooManyUniverses: "too_many_universes",
  /** Only a branch can be handed to a player as their own timeline. */
  NotABranch: "not_a_branch",
} as const;

export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

export const rejectionCodeSchema = z.enum(
  Object.values(RejectionCode) as [RejectionCode, ...RejectionCode[]],
);

export const rejectionSchema = z.object({
  rejected: z.literal(true),
  code: rejectionCodeSchema,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type Rejection = z.infer<typeof rejectionSchema>;

/** The words of two refusals said by the API, the rooms and the SDK alike. */
export const REFUSAL_WORDS = {
  memberRemoved: "a game master removed you from this universe",
  sessionRevoked: "the token was revoked (logged out everywhere)",
  noLongerGameMaster: "you are no longer a game master of this universe: join as a player or spectator",
} as const;

export function reject(code: RejectionCode, message: string, details?: Record<string, unknown>): Rejection {
  return details === undefined
    ? { rejected: true, code, message }
    : { rejected: true, code, message, details };
}

export function isRejection(value: unknown): value is Rejection {
  return typeof value === "object" && value !== null && (value as { rejected?: unknown }).rejected === true;
}
