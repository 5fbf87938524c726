import {
  applyDeltasInPlace,
  BUCKET_KEYS,
  BUCKETED_RECORDS,
  parsePointer,
  type Delta,
  type Npc,
  type Quest,
  type UniverseState,
  type WorldLocation,
} from "@loom/shared";
import { BucketedHistory, type RecordHistory, Versions } from "./brief-history.ts";
import {
  brief,
  summary,
  type CharacterBrief,
  type NpcBrief,
  type QuestBrief,
  type ScrubSummary,
} from "./scrub-summary.ts";

type Part = "mode" | "scene" | "characters" | "npcs" | "quests" | "locations" | "majorEvents" | "canonFacts";

/** Where each part of the brief lives in the state. */
const PATHS: ReadonlyArray<readonly [Part, readonly string[]]> = [
  ["mode", ["mode"]],
  ["scene", ["scene"]],
  ["characters", ["characters"]],
  ["npcs", BUCKETED_RECORDS.npcs],
  ["quests", BUCKETED_RECORDS.quests],
  ["locations", BUCKETED_RECORDS.locations],
  ["majorEvents", ["world", "majorEvents"]],
  ["canonFacts", ["canon", "factBuckets"]],
];

/** Briefs compared by value: a brief is plain JSON, its members always in the same order. */
const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

const BUCKETS = new Set(BUCKET_KEYS);

type RecordPart = "npcs" | "quests" | "locations";
type BucketHistory = RecordHistory<NpcBrief | QuestBrief | string>;

const own = (container: unknown, key: string | undefined) =>
  key !== undefined &&
  typeof container === "object" &&
  container !== null &&
  Object.prototype.hasOwnProperty.call(container, key);

/**
 * The brief of every position of a timeline (what the scrubber shows), kept as the changes of each
 * part: a part's value is held from the position it changed on, and a large record's entries each
 * from theirs (brief-history.ts). A walk forward over the turns, in place on one private state,
 * finds them; the briefs of a position are then a binary search a part, and cost memory in
 * proportion to what changed, never a copy of the world per position.
 *
 * `at` answers as `summarize` would for the state the walk reached there: key order included,
 * since a record lists its entries in the order they were added.
 */
export class TimelineBriefs {
  /** The state after the last turn walked; private, changed in place. */
  private readonly state: UniverseState;
  private readonly mode: Versions<string>;
  private readonly scene: Versions<ScrubSummary["scene"]>;
  private readonly characters: Versions<CharacterBrief[]>;
  private readonly majorEvents: Versions<ScrubSummary["majorEvents"]>;
  private readonly canonFacts: Versions<number>;
  private readonly npcs = new BucketedHistory<NpcBrief>(BUCKET_KEYS);
  private readonly quests = new BucketedHistory<QuestBrief>(BUCKET_KEYS);
  private readonly locations = new BucketedHistory<string>(BUCKET_KEYS);
  private walked: number;
  /** The canon facts in the state, kept up to date by `apply` (counting them all costs a key list a bucket). */
  private facts: number;

  /** `state`: the state at `position`, which this takes over (it is changed in place). */
  constructor(position: number, state: UniverseState) {
    this.state = state;
    this.walked = position;
    this.mode = new Versions(position, brief.mode(state));
    this.scene = new Versions(position, brief.scene(state));
    this.characters = new Versions(position, this.characterBriefs([]));
    this.majorEvents = new Versions(position, brief.majorEvents(state));
    this.facts = brief.canonFacts(state);
    this.canonFacts = new Versions(position, this.facts);
    for (const part of ["npcs", "quests", "locations"] as const) this.refill(part, position);
  }

  /** Walks the next turn (`through + 1`). Throws, and is of no further use, when a delta does not apply. */
  walk(position: number, deltas: readonly Delta[]): void {
    if (position !== this.walked + 1) throw new RangeError(`turn ${position} walked after ${this.walked}`);
    const touched = new Set<Part>();
    for (const delta of deltas) this.apply(position, delta, touched);
    if (touched.has("mode")) this.changed(this.mode, position, brief.mode(this.state));
    if (touched.has("scene")) this.changed(this.scene, position, brief.scene(this.state));
    if (touched.has("characters"))
      this.changed(this.characters, position, this.characterBriefs(this.characters.latest));
    if (touched.has("majorEvents")) this.changed(this.majorEvents, position, brief.majorEvents(this.state));
    if (touched.has("canonFacts")) this.changed(this.canonFacts, position, this.facts);
    this.walked = position;
  }

  /** The last position walked. */
  get through(): number {
    return this.walked;
  }

  /** The brief at `position` (≤ `through`). */
  at(position: number): ScrubSummary {
    return summary({
      mode: this.mode.at(position),
      scene: this.scene.at(position),
      characters: this.characters.at(position),
      npcs: this.npcs.at(position),
      quests: this.quests.at(position),
      locations: this.locations.at(position),
      majorEvents: this.majorEvents.at(position),
      canonFacts: this.canonFacts.at(position),
    });
  }

  /** One delta, applied in place, and what it changed of the brief. */
  private apply(position: number, delta: Delta, touched: Set<Part>): void {
    const tokens = parsePointer(delta.path);
    const fact = this.factAt(tokens);
    const hadFact = fact !== null && own(fact.bucket(), fact.id);
    applyDeltasInPlace(this.state, [delta]);
    if (fact) this.facts += Number(own(fact.bucket(), fact.id)) - Number(hadFact);
    else if (
      tokens.length <= 3 &&
      tokens.every((token, i) => token === ["canon", "factBuckets"][i] || i === 2)
    )
      // the canon, its buckets or a whole bucket replaced: counted again
      this.facts = brief.canonFacts(this.state);
    for (const [part, path] of PATHS) {
      // a part is touched by a delta at, above or inside it
      const apart = path.some((token, i) => i < tokens.length && tokens[i] !== token);
      if (apart) continue;
      if (part !== "npcs" && part !== "quests" && part !== "locations") touched.add(part);
      else if (tokens.length <= path.length) this.refill(part, position);
      else if (tokens.length === path.length + 1) this.refillBucket(part, position, tokens[path.length]!);
      else this.entry(part, position, tokens[path.length]!, tokens[path.length + 1]!);
    }
  }

  /** The fact a delta sets or unsets (a path of a counted bucket and an id), else null. */
  private factAt(tokens: readonly string[]): { bucket: () => unknown; id: string } | null {
    if (
      tokens.length !== 4 ||
      tokens[0] !== "canon" ||
      tokens[1] !== "factBuckets" ||
      !BUCKETS.has(tokens[2]!)
    )
      return null;
    return { bucket: () => this.state.canon?.factBuckets?.[tokens[2]!], id: tokens[3]! };
  }

  /** A record's entry after a delta at or inside it: added, changed or removed. */
  private entry(part: RecordPart, position: number, bucket: string, key: string): void {
    const history = this[part].bucket(bucket) as BucketHistory | undefined;
    if (!history) return;
    const members = this.bucketOf(part, bucket);
    if (!own(members, key)) history.unset(position, key);
    else history.set(position, key, this.briefOf(part, members[key]), same);
  }

  private briefOf(part: RecordPart, value: unknown): NpcBrief | QuestBrief | string {
    if (part === "npcs") return brief.npc(value as Npc);
    if (part === "quests") return brief.quest(value as Quest);
    return brief.location(value as WorldLocation);
  }

  /** A record replaced whole (or first seen): every entry leaves, the new ones come in their order. */
  private refill(part: RecordPart, position: number): void {
    this[part].clear(position);
    for (const bucket of BUCKET_KEYS) this.refillBucket(part, position, bucket);
  }

  /** A bucket replaced whole: its entries leave, the new ones come in their order. */
  private refillBucket(part: RecordPart, position: number, bucket: string): void {
    const history = this[part].bucket(bucket) as BucketHistory | undefined;
    if (!history) return;
    history.clear(position);
    const members = this.bucketOf(part, bucket);
    for (const key of Object.keys(members))
      history.set(position, key, this.briefOf(part, members[key]), same);
  }

  private bucketOf(part: RecordPart, bucket: string): Record<string, unknown> {
    let at: unknown = this.state;
    for (const token of [...BUCKETED_RECORDS[part], bucket])
      at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[token] : undefined;
    return typeof at === "object" && at !== null ? (at as Record<string, unknown>) : {};
  }

  /** The characters in brief, each one unchanged since `before` kept as it was. */
  private characterBriefs(before: readonly CharacterBrief[]): CharacterBrief[] {
    return Object.values(this.state.characters).map((character, i) => {
      const told = brief.character(character);
      return before[i] && same(before[i], told) ? before[i] : told;
    });
  }

  private changed<T>(versions: Versions<T>, position: number, value: T): void {
    if (!same(versions.latest, value)) versions.set(position, value);
  }
}
