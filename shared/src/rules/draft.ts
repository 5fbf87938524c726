import { BUCKET_KEYS } from "../buckets.ts";
import { factPath, listFacts, readFact } from "../canon-facts.ts";
import type { Delta } from "../delta.ts";
import type { CanonFact, UniverseState } from "../state.ts";
import type { Resolution, TurnEvent, TurnKind } from "../turn.ts";
import type { DecideContext, Decision } from "./context.ts";

export type CanonFactType = CanonFact["type"];

/**
 * Canon facts about happenings (an aspect put on a scene, a world event, a retcon, a note) that the
 * state keeps: the newest ones. Facts about a subject's current truth (a location, a relationship,
 * a quest, a character) are replaced under a stable id instead, so they grow with the world, not
 * with the timeline. Older happenings live on in the timeline, its events and its search.
 */
export const CANON_HAPPENINGS_KEPT = 200;
/**
 * How far happenings may pass CANON_HAPPENINGS_KEPT before the oldest go, down to it, in one
 * turn: dropping members from an object makes every later copy of it slower for V8, so it
 * happens once per hundred happenings rather than on each.
 */
export const CANON_HAPPENINGS_SLACK = 100;
/** Major events the state keeps, oldest first; the timeline has them all. */
export const MAJOR_EVENTS_KEPT = 200;
const HAPPENINGS: ReadonlySet<CanonFactType> = new Set(["aspect", "world_event", "retcon", "note"]);

export interface EventOptions {
  major?: boolean;
  hidden?: boolean;
  data?: Record<string, unknown>;
}

/**
 * Happening facts per bucket, by the bucket's object: a turn copies the one bucket it writes, so
 * the other 63 keep their count from the turns before, where counting every fact of a long
 * campaign's canon (thousands) took longer than the rest of the decision. Sound because a state
 * the rules have read is never changed in place: `applyDeltas` copies what it changes, and
 * `applyDeltasInPlace` is for documents parsed for one read, which no decision sees first.
 */
const happeningCounts = new WeakMap<object, number>();

function happeningsIn(bucket: Readonly<Record<string, CanonFact>>): number {
  let held = happeningCounts.get(bucket);
  if (held === undefined) {
    held = 0;
    for (const id in bucket) if (HAPPENINGS.has(bucket[id]!.type)) held += 1;
    happeningCounts.set(bucket, held);
  }
  return held;
}

/**
 * A decision being written: rules add events and deltas here, never to the state. Values a rule
 * writes are remembered so a later delta of the same decision records the right `prev`.
 */
export class Draft {
  readonly events: TurnEvent[] = [];
  readonly deltas: Delta[] = [];
  private readonly written = new Map<string, unknown>();
  private facts = 0;
  private majorEventsAdded = 0;
  private majorEventsDropped = 0;
  /** Happening facts this decision added and dropped, to keep their count at the cap. */
  private happeningsAdded = 0;
  private readonly happeningsDropped = new Set<string>();

  constructor(
    readonly state: UniverseState,
    readonly ctx: DecideContext,
  ) {}

  /** The value at `path` as this decision has left it, or `current` if the decision has not touched it. */
  private before(path: string, current: unknown): unknown {
    return this.written.has(path) ? this.written.get(path) : current;
  }

  set(path: string, value: unknown, current: unknown): void {
    const prev = this.before(path, current);
    this.deltas.push(prev === undefined ? { op: "set", path, value } : { op: "set", path, value, prev });
    this.written.set(path, value);
  }

  /** Sets only when the value differs, so idempotent rules leave no noise in the log. */
  change(path: string, value: unknown, current: unknown): void {
    if (this.before(path, current) !== value) this.set(path, value, current);
  }

  unset(path: string, current: unknown): void {
    this.deltas.push({ op: "unset", path, prev: this.before(path, current) });
    this.written.set(path, undefined);
  }

  increment(path: string, by: number, current: number): void {
    const prev = this.before(path, current) as number;
    this.deltas.push({ op: "increment", path, value: by, prev });
    this.written.set(path, prev + by);
  }

  /**
   * Deltas already applied to `state` (a game master's, recorded before this draft was made on
   * the state they produced): they lead the decision, and nothing is remembered of them.
   */
  lead(deltas: readonly Delta[]): void {
    this.deltas.unshift(...deltas);
  }

  /** Takes deltas built elsewhere (e.g. paying for invokes) into this decision. */
  adopt(deltas: readonly Delta[]): void {
    for (const delta of deltas) {
      this.deltas.push(delta);
      if (delta.op === "increment")
        this.written.set(delta.path, (delta.prev as number) + (delta.value as number));
      else if (delta.op === "set") this.written.set(delta.path, delta.value);
      else if (delta.op === "unset") this.written.set(delta.path, undefined);
    }
  }

  event(type: string, description: string, options: EventOptions = {}): void {
    this.events.push({
      type,
      description,
      major: options.major ?? false,
      hidden: options.hidden ?? false,
      data: options.data ?? {},
    });
  }

  /** A deterministic id for something this turn creates: `<prefix>-<position>-<n>`. */
  nextId(prefix: string): string {
    this.facts += 1;
    return `${prefix}-${this.ctx.position}-${this.facts}`;
  }

  /**
   * Records a canon fact. Facts about one-off happenings get a fresh id; facts about the current
   * truth of a subject (an NPC's attitude, a quest's state) pass a stable id and replace it; the
   * timeline keeps the history and undo restores the previous fact from the delta's `prev`.
   */
  fact(type: CanonFactType, value: unknown, id: string = this.nextId(type)): string {
    const fact: CanonFact = {
      id,
      type,
      value,
      confidence: 1,
      sourcePosition: this.ctx.position,
      supersededAt: null,
    };
    const replaced = readFact(this.state, id);
    this.set(factPath(id), fact, replaced);
    if (replaced === undefined && HAPPENINGS.has(type)) {
      this.happeningsAdded += 1;
      this.dropOldHappenings();
    }
    return id;
  }

  /**
   * Past CANON_HAPPENINGS_KEPT + CANON_HAPPENINGS_SLACK happening facts, drops the oldest (by
   * source position, then id) of those the state had, down to CANON_HAPPENINGS_KEPT. Each drop is
   * an `unset` with the fact as `prev`, so undo and replay restore it exactly.
   */
  private dropOldHappenings(): void {
    // counted before they are listed: most turns stay under the bound, and a long campaign's
    // canon holds thousands of facts that are not happenings
    const bound = CANON_HAPPENINGS_KEPT + CANON_HAPPENINGS_SLACK;
    if (this.happeningsHeld() - this.happeningsDropped.size + this.happeningsAdded <= bound) return;
    const held = listFacts(this.state).filter(
      (fact) => HAPPENINGS.has(fact.type) && !this.happeningsDropped.has(fact.id),
    );
    const count = held.length + this.happeningsAdded;
    if (count <= bound) return;
    let excess = count - CANON_HAPPENINGS_KEPT;
    held.sort((a, b) => a.sourcePosition - b.sourcePosition || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const fact of held) {
      if (excess <= 0) break;
      if (this.written.has(factPath(fact.id))) continue;
      this.unset(factPath(fact.id), fact);
      this.happeningsDropped.add(fact.id);
      excess -= 1;
    }
  }

  /** How many happening facts the state held before this turn. */
  private happeningsHeld(): number {
    let held = 0;
    for (const key of BUCKET_KEYS) {
      const bucket = this.state.canon.factBuckets[key];
      if (bucket) held += happeningsIn(bucket);
    }
    return held;
  }

  /**
   * Appends to the world's major events, the list recaps read for "while you were away", keeping
   * the newest MAJOR_EVENTS_KEPT: the oldest goes first (a `remove` with its `prev`).
   */
  majorEvent(characterId: string | null, description: string): void {
    const held = this.state.world.majorEvents;
    let length = held.length + this.majorEventsAdded - this.majorEventsDropped;
    if (length >= MAJOR_EVENTS_KEPT && this.majorEventsDropped < held.length) {
      this.deltas.push({ op: "remove", path: "/world/majorEvents/0", prev: held[this.majorEventsDropped] });
      this.majorEventsDropped += 1;
      length -= 1;
    }
    this.majorEventsAdded += 1;
    this.deltas.push({
      op: "push",
      path: `/world/majorEvents/${length}`,
      value: { position: this.ctx.position, characterId, description },
    });
  }

  decision(kind: TurnKind, resolution: Resolution | null = null): Decision {
    return { kind, events: this.events, deltas: this.deltas, resolution };
  }
}
