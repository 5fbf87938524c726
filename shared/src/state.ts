import { z } from "zod";
import { BUCKET_KEYS, emptyBuckets } from "./buckets.ts";
import { storableJsonSchema } from "./json-value.ts";
import { upcasters } from "./upgrade.ts";

/**
 * The universe state document: everything that changes during play, in one JSON document.
 * Collections are keyed by id (not arrays) wherever turns address members, so delta paths stay
 * stable; arrays are used only for append-mostly logs (major events, retcon notes).
 * A member named `gmNotes`, wherever it is, is the GM's alone; a character's `private` is its
 * owner's too (visibility.ts). Nothing else in the state is withheld: what only a GM may know of a
 * turn (a hidden roll, a hidden event) is `hidden` on the turn's resolution or event, and the turn
 * is redacted as a whole; a hidden roll leaves in the state only the harm it deals and the conflict
 * it starts (rules/action-effects.ts).
 *
 * Version 2 keeps canon facts in buckets (canon-facts.ts) where version 1 kept one record of them
 * (`canon.facts`); version 3 buckets NPCs, locations and quests the same way (world-records.ts).
 * docs/state-versions.md says how older documents and turns are read.
 */
export const STATE_VERSION = 3;

/** The Fate Core ladder runs from Terrible (−2) to Legendary (+8). */
export const ladderRating = z.number().int().min(-2).max(8);

export const aspectSchema = z.object({
  id: z.string(),
  name: z.string().min(1).max(200),
  freeInvokes: z.number().int().min(0),
  /** A boost is a temporary aspect that vanishes once invoked (Fate Core p. 58). */
  boost: z.boolean(),
  createdBy: z.string().nullable(),
  sourcePosition: z.number().int().min(0),
});
export type Aspect = z.infer<typeof aspectSchema>;

export const consequenceSeverity = z.enum(["mild", "moderate", "severe"]);
export type ConsequenceSeverity = z.infer<typeof consequenceSeverity>;

export const consequenceSchema = z.object({
  aspect: z.string(),
  freeInvokes: z.number().int().min(0),
  sourcePosition: z.number().int().min(0),
});

export const itemSchema = z.object({
  id: z.string(),
  name: z.string(),
  qty: z.number().int().min(0),
  tags: z.array(z.string()),
});

export const characterSchema = z.object({
  id: z.string(),
  name: z.string().min(1).max(100),
  playerId: z.string(),
  highConcept: z.string(),
  trouble: z.string(),
  aspects: z.array(z.string()),
  skills: z.record(z.string(), ladderRating),
  stress: z.object({ physical: z.array(z.boolean()), mental: z.array(z.boolean()) }),
  consequences: z.object({
    mild: consequenceSchema.nullable(),
    moderate: consequenceSchema.nullable(),
    severe: consequenceSchema.nullable(),
  }),
  fatePoints: z.number().int().min(0),
  refresh: z.number().int().min(1),
  inventory: z.record(z.string(), itemSchema),
  conditions: z.array(z.string()),
  resources: z.record(z.string(), z.number()),
  takenOut: z.boolean(),
  conceded: z.boolean(),
  /** Seen by GMs only. */
  gmNotes: z.string(),
  /** Seen by the owning player (and GMs) only. */
  private: z.object({ notes: z.string(), secrets: z.array(z.string()) }),
});
export type Character = z.infer<typeof characterSchema>;

export const relationshipSchema = z.enum(["hostile", "wary", "neutral", "friendly", "ally"]);
export type Relationship = z.infer<typeof relationshipSchema>;

export const npcSchema = z.object({
  id: z.string(),
  name: z.string(),
  relationship: relationshipSchema,
  /** How this NPC feels about each character, keyed by character id. */
  attitudes: z.record(z.string(), relationshipSchema),
  notes: z.string(),
  gmNotes: z.string(),
  lastSeenPosition: z.number().int().min(0).nullable(),
  /** NPCs can be attacked: same stress model as characters, simplified. */
  stress: z.array(z.boolean()),
  skills: z.record(z.string(), ladderRating),
  takenOut: z.boolean(),
});
export type Npc = z.infer<typeof npcSchema>;

export const locationSchema = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string().nullable(),
  notes: z.string(),
  discoveredAt: z.number().int().min(0).nullable(),
});
export type WorldLocation = z.infer<typeof locationSchema>;

export const factionSchema = z.object({ id: z.string(), name: z.string(), standing: z.number().int() });

export const questStateSchema = z.enum(["active", "paused", "resolved", "failed"]);
export const questSchema = z.object({
  id: z.string(),
  title: z.string(),
  state: questStateSchema,
  details: z.string(),
  lastUpdatePosition: z.number().int().min(0),
});
export type Quest = z.infer<typeof questSchema>;

export const majorEventSchema = z.object({
  position: z.number().int().min(0),
  characterId: z.string().nullable(),
  description: z.string(),
});

export const canonFactSchema = z.object({
  id: z.string(),
  type: z.enum(["aspect", "relationship", "location", "quest", "world_event", "character", "retcon", "note"]),
  value: storableJsonSchema,
  confidence: z.number().min(0).max(1),
  sourcePosition: z.number().int().min(0),
  supersededAt: z.number().int().min(0).nullable(),
});
export type CanonFact = z.infer<typeof canonFactSchema>;

/**
 * A bucketed record (buckets.ts): every bucket is always present, so adding a member is one `set`
 * inside its bucket.
 */
function bucketsSchema<T extends z.ZodType>(member: T) {
  const bucket = z.record(z.string(), member);
  return z.object(Object.fromEntries(BUCKET_KEYS.map((key) => [key, bucket])));
}

export const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  universe: z.object({ name: z.string(), premise: z.string() }),
  mode: z.enum(["scene", "conflict", "downtime"]),
  scene: z.object({
    id: z.string(),
    title: z.string(),
    location: z.string().nullable(),
    summary: z.string(),
    aspects: z.record(z.string(), aspectSchema),
  }),
  world: z.object({
    /** Read and written through world-records.ts, never by layout. */
    locationBuckets: bucketsSchema(locationSchema),
    npcBuckets: bucketsSchema(npcSchema),
    factions: z.record(z.string(), factionSchema),
    flags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    majorEvents: z.array(majorEventSchema),
  }),
  characters: z.record(z.string(), characterSchema),
  /** Read and written through world-records.ts, never by layout. */
  questBuckets: bucketsSchema(questSchema),
  canon: z.object({
    /** Read and written through canon-facts.ts, never by layout. */
    factBuckets: bucketsSchema(canonFactSchema),
    summaryLong: z.string(),
    summaryRecent: z.string(),
    retconNotes: z.array(z.object({ position: z.number().int().min(0), note: z.string() })),
  }),
});
export type UniverseState = z.infer<typeof stateSchema>;

export function emptyState(name = "Untitled universe", premise = ""): UniverseState {
  return {
    version: STATE_VERSION,
    universe: { name, premise },
    mode: "scene",
    scene: { id: "scene-0", title: "Prologue", location: null, summary: "", aspects: {} },
    world: {
      locationBuckets: emptyBuckets(),
      npcBuckets: emptyBuckets(),
      factions: {},
      flags: {},
      majorEvents: [],
    },
    characters: {},
    questBuckets: emptyBuckets(),
    canon: { factBuckets: emptyBuckets(), summaryLong: "", summaryRecent: "", retconNotes: [] },
  };
}

/**
 * Brings a stored document of any older version to the current one, step by step through the
 * upcasters (upgrade.ts), and validates the result.
 */
export function upcastState(doc: unknown): UniverseState {
  let current = doc as Record<string, unknown>;
  let version = typeof current?.version === "number" ? current.version : 0;
  while (version < STATE_VERSION) {
    const step = upcasters[version];
    if (!step) throw new Error(`no upcaster from state version ${version}`);
    current = step(current);
    version += 1;
  }
  return stateSchema.parse(current);
}
