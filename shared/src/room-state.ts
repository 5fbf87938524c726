import { z } from "zod";

/**
 * The synced room state of a universe as a client decodes it: the header, the scene, the
 * characters present (their public sheet) and the durability marks. The server declares it with
 * @colyseus/schema (server/src/rooms/room-state.ts), which shared/ cannot import; this is the same
 * shape as data, so the SDK's `RoomState` type is inferred from it and a test parses the real
 * state (`room.state.toJSON()`) with it, strictly: a field synced and not described here fails.
 */

export const aspectViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  freeInvokes: z.number().int(),
  boost: z.boolean(),
  /**
   * The character that created it, whose free invokes these are (a player spends only their own
   * character's: `not_your_free_invoke`); empty when a game master placed it, anyone's.
   */
  createdBy: z.string(),
});

export const sceneViewSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  location: z.string(),
  summary: z.string(),
  /** `scene`, `conflict` or `downtime`. */
  mode: z.string(),
  aspects: z.record(z.string(), aspectViewSchema),
});

export const characterViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  playerId: z.string(),
  highConcept: z.string(),
  trouble: z.string(),
  aspects: z.array(z.string()),
  fatePoints: z.number().int(),
  physicalStress: z.array(z.boolean()),
  mentalStress: z.array(z.boolean()),
  consequences: z.array(z.string()),
  takenOut: z.boolean(),
  present: z.boolean(),
  /** The character's player and game masters only. */
  privateNotes: z.string().optional(),
  /** Game masters only. */
  gmNotes: z.string().optional(),
});

export const roomStateSchema = z.strictObject({
  universeId: z.string(),
  name: z.string(),
  /** Empty for a universe that is no branch. */
  parentId: z.string(),
  branchPosition: z.number().int(),
  /** Whether the server tells turns' prose (false when its narrator is off: no turn gets any). */
  narrated: z.boolean(),
  head: z.number().int(),
  /** Last position confirmed by the live store (Redis) or, in embedded mode, persisted. */
  durableThrough: z.number().int(),
  persistedThrough: z.number().int(),
  scene: sceneViewSchema,
  characters: z.record(z.string(), characterViewSchema),
});

export type AspectView = z.infer<typeof aspectViewSchema>;
export type CharacterView = z.infer<typeof characterViewSchema>;
/** The synced state as plain data (`room.state.toJSON()`). */
export type RoomStateJson = z.infer<typeof roomStateSchema>;

/** A decoded collection of the synced state: a map keyed by id (MapSchema on the client). */
export interface SyncedMap<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  readonly size: number;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
  forEach(callback: (value: V, key: string) => void): void;
}

/** The synced state as decoded: the same fields, its maps as `SyncedMap`s. */
export type RoomState = Omit<RoomStateJson, "scene" | "characters"> & {
  scene: Omit<RoomStateJson["scene"], "aspects"> & { aspects: SyncedMap<AspectView> };
  characters: SyncedMap<CharacterView>;
};
