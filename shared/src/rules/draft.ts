import type { Delta } from "../delta.ts";
import { pointer } from "../delta.ts";
import type { CanonFact, UniverseState } from "../state.ts";
import type { Resolution, TurnEvent, TurnKind } from "../turn.ts";
import type { DecideContext, Decision } from "./context.ts";

export type CanonFactType = CanonFact["type"];

export interface EventOptions {
  major?: boolean;
  hidden?: boolean;
  data?: Record<string, unknown>;
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
  private majorEvents = 0;

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
    const facts = this.state.canon.facts;
    this.set(
      pointer("canon", "facts", id),
      fact,
      Object.prototype.hasOwnProperty.call(facts, id) ? facts[id] : undefined,
    );
    return id;
  }

  /** Appends to the world's major events, the list recaps read for "while you were away". */
  majorEvent(characterId: string | null, description: string): void {
    const index = this.state.world.majorEvents.length + this.majorEvents;
    this.majorEvents += 1;
    this.deltas.push({
      op: "push",
      path: `/world/majorEvents/${index}`,
      value: { position: this.ctx.position, characterId, description },
    });
  }

  decision(kind: TurnKind, resolution: Resolution | null = null): Decision {
    return { kind, events: this.events, deltas: this.deltas, resolution };
  }
}
