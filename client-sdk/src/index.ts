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
  type Jump,
} from "./client.ts";
export { UniverseSession, type ActResult, type SessionEvents, type RoomState } from "./session.ts";
export { LoomError, joinRefusalOf } from "./http.ts";
export { verifyDice } from "@loom/shared";
export type {
  Command,
  CommandInput,
  Turn,
  Rejection,
  RejectionCode,
  JoinRefusal,
  CharacterSheetInput,
  Recap,
  Delta,
  DiceDisclosure,
  DiceSegment,
  DiceVerification,
  Bookmark,
  SavePointRecord,
  SnapshotInfo,
} from "@loom/shared";
