import { schema, t, type SchemaType } from "@colyseus/schema";

/**
 * The part of a universe synced to clients. It is a projection of the authoritative state
 * document, not the document itself: the header, the scene, the characters (public sheet) and
 * the durability marks.
 *
 * Turns are not part of it. Each turn reaches every member once, as a `turn` message; a joining
 * member gets the newest RECENT_TURNS as one `recent` message, and older history over HTTP.
 * Keeping a window of turns in the synced state as well sent each turn twice, and decoding that
 * window was most of a client's work (see docs/performance.md).
 *
 * Visibility (StateView tags): fields tagged OWNER reach the character's owner and GMs; fields
 * tagged GM reach GMs only. Spectators see untagged fields only.
 */
export const VIEW_TAG = { OWNER: 1, GM: 2 } as const;

export const AspectView = schema(
  {
    id: t.string(),
    name: t.string(),
    // numbers, not bytes: a game master may raise these past 255, and a byte would wrap
    freeInvokes: t.number(),
    boost: t.boolean(),
    // whose free invokes these are, for a player's page to offer only its own; "" when a game
    // master placed it (anyone's). Who created an advantage is in its turn for all to read.
    createdBy: t.string(),
  },
  "AspectView",
);
export type AspectView = SchemaType<typeof AspectView>;

export const SceneView = schema(
  {
    id: t.string(),
    title: t.string(),
    location: t.string(),
    summary: t.string(),
    mode: t.string(),
    aspects: t.map(AspectView),
  },
  "SceneView",
);
export type SceneView = SchemaType<typeof SceneView>;

export const CharacterView = schema(
  {
    id: t.string(),
    name: t.string(),
    playerId: t.string(),
    highConcept: t.string(),
    trouble: t.string(),
    aspects: t.array("string"),
    fatePoints: t.number(),
    physicalStress: t.array("boolean"),
    mentalStress: t.array("boolean"),
    consequences: t.array("string"),
    takenOut: t.boolean(),
    present: t.boolean(),
    privateNotes: t.string().view(VIEW_TAG.OWNER),
    gmNotes: t.string().view(VIEW_TAG.GM),
  },
  "CharacterView",
);
export type CharacterView = SchemaType<typeof CharacterView>;

export const UniverseRoomState = schema(
  {
    universeId: t.string(),
    name: t.string(),
    parentId: t.string(),
    branchPosition: t.uint32(),
    /** Whether the server tells turns' prose (false when its narrator is off). */
    narrated: t.boolean(),
    head: t.uint32(),
    /** Last position confirmed by the live store (Redis) or, in embedded mode, persisted. */
    durableThrough: t.uint32(),
    persistedThrough: t.uint32(),
    scene: SceneView,
    characters: t.map(CharacterView),
  },
  "UniverseRoomState",
);
export type UniverseRoomState = SchemaType<typeof UniverseRoomState>;
