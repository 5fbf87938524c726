export {
  connect,
  LoomClient,
  type Universe,
  type Run,
  type PlaySession,
  type TimelinePage,
  type HistoryQuery,
  type Progression,
  type AuthResult,
  type Invite,
  type Member,
  type UniverseVisibility,
  type WriteOptions,
  type ClientOptions,
  type Turn,
  type Recap,
  type DiceDisclosure,
  type Telling,
  type ScrubView,
  type Dashboard,
} from "./client.ts";
export { UniverseSession, type ActResult, type SessionEvents, type RoomState } from "./session.ts";
export { LoomError, joinRefusalOf } from "./http.ts";
export { verifyDice } from "@loom/shared";
export type {
  Command,
  CommandInput,
  Rejection,
  RejectionCode,
  JoinRefusal,
  CharacterSheetInput,
  Delta,
  DiceSegment,
  DiceVerification,
} from "@loom/shared";
