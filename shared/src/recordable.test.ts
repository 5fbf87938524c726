import { describe, expect, it } from "vitest";
import { bucketOf } from "./buckets.ts";
import { decide } from "./decide.ts";
import { evolve } from "./evolve.ts";
import { isRejection } from "./rejection.ts";
import { RECORD_ID_MAX, unrecordableRefusal } from "./recordable.ts";
import type { Decision } from "./rules/context.ts";
import { command, ctx, decided } from "./rules/kit.test-helpers.ts";
import type { UniverseState } from "./state.ts";
import { seedUniverse } from "./testing/universe.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;

const fact = (id: string, value: unknown = 1) => ({
  id,
  type: "note" as const,
  value,
  confidence: 1,
  sourcePosition: 0,
  supersededAt: null,
});
const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });

/** The refusal the authority would give a GM's world event with these deltas (the rules took it). */
function screened(state: UniverseState, deltas: unknown[]) {
  const cmd = command({ kind: "world_event", text: "The tide turns", major: false, deltas } as never);
  const decision = decide(state, cmd, ctx(GM));
  if (isRejection(decision)) throw new Error(`the rules refused it: ${decision.message}`);
  return unrecordableRefusal(cmd, decision, evolve(state, decision.deltas));
}

/** The rules' own refusal of a GM's world event with these deltas: a character set by a turn. */
function ruled(state: UniverseState, deltas: unknown[]) {
  const cmd = command({ kind: "world_event", text: "The tide turns", major: false, deltas } as never);
  return decide(state, cmd, ctx(GM));
}

describe("a turn is acknowledged only if an export can import it again", () => {
  it("refuses a delta whose recorded path is past the bounds once it sits in its bucket", () => {
    // given a fact id that fits a path as written, but not once the fact's bucket is added
    const long = "x".repeat(985);
    // when a game master writes it, then the turn is refused
    expect(
      screened(seedUniverse(), [{ op: "set", path: `/canon/facts/${long}`, value: fact(long) }]),
    ).toMatchObject({
      code: "invalid_value",
      message: expect.stringContaining("longer than 1000 characters"),
    });
    // and a path of 24 tokens into a fact's value (one from before the check) has 25 once recorded
    const deep = seedUniverse();
    deep.canon.factBuckets[bucketOf("d")]!.d = fact("d", nested(24));
    const path = `/canon/facts/d/value${"/a".repeat(20)}`;
    expect(screened(deep, [{ op: "set", path, value: 2 }])).toMatchObject({
      code: "invalid_value",
      message: expect.stringContaining("at most 24 tokens"),
    });
  });

  it("refuses a record whose key is not its id, or whose id the rules could not build paths from", () => {
    const state = seedUniverse();
    const ash = Object.values(state.characters)[0]!;
    for (const deltas of [
      [{ op: "set", path: "/canon/facts/f1", value: fact("other") }],
      [
        {
          op: "set",
          path: "/world/factions",
          value: { guild: { id: "league", name: "League", standing: 0 } },
        },
      ],
      [
        {
          op: "set",
          path: "/scene/aspects/a1",
          value: { id: "a2", name: "Fog", freeInvokes: 0, boost: false, createdBy: null, sourcePosition: 0 },
        },
      ],
    ])
      expect(screened(state, deltas), JSON.stringify(deltas)).toMatchObject({ code: "invalid_action" });
    const long = "k".repeat(RECORD_ID_MAX + 1);
    expect(screened(state, [{ op: "set", path: `/canon/facts/${long}`, value: fact(long) }])).toMatchObject({
      code: "invalid_value",
    });
    // no turn sets a character into the story, whatever its key (rules/gm-deltas.ts)
    for (const [key, id] of [
      ["someone", "else"],
      [long, long],
      ["valueOf", "valueOf"],
    ])
      expect(ruled(state, [{ op: "set", path: `/characters/${key}`, value: { ...ash, id } }])).toMatchObject({
        code: "invalid_action",
        message: expect.stringContaining("enters the universe with its player's run"),
      });
    // a record as it should be is taken
    expect(screened(state, [{ op: "set", path: "/canon/facts/f1", value: fact("f1") }])).toBeNull();
  });

  it("refuses a name every object inherits for what the room syncs, and only there", () => {
    const state = seedUniverse();
    expect(
      screened(state, [
        {
          op: "set",
          path: "/scene/aspects",
          value: {
            toString: {
              id: "toString",
              name: "Fog",
              freeInvokes: 0,
              boost: false,
              createdBy: null,
              sourcePosition: 0,
            },
          },
        },
      ]),
    ).toMatchObject({ code: "invalid_action" });
    expect(screened(state, [{ op: "set", path: "/canon/facts/valueOf", value: fact("valueOf") }])).toBeNull();
  });

  it("refuses a record grown past what a later turn records of it whole", () => {
    // given a fact as deep as a value may be
    const state = decided(
      seedUniverse(),
      command({
        kind: "world_event",
        text: "deep",
        deltas: [{ op: "set", path: "/canon/facts/d", value: fact("d", nested(12)) }],
      } as never),
      GM,
    ).after;
    // when a game master nests more into it, then the fact could no longer be dropped or replaced
    expect(
      screened(state, [{ op: "set", path: `/canon/facts/d/value${"/a".repeat(12)}`, value: nested(8) }]),
    ).toMatchObject({
      code: "invalid_value",
      message: expect.stringContaining("too large to record whole"),
    });
  });

  it("keeps the scene small enough for the next scene to record it", () => {
    // given a scene of as many aspects as a recorded value may hold
    const state = seedUniverse();
    for (let i = 0; i < 300; i++)
      state.scene.aspects[`a${i}`] = {
        id: `a${i}`,
        name: `Aspect ${i}`,
        freeInvokes: 0,
        boost: false,
        createdBy: null,
        sourcePosition: 0,
      };
    // when a game master puts one more on it, then it is refused
    const add = command({ kind: "aspect", op: "add", name: "One more" });
    const decision = decide(state, add, ctx(GM)) as Decision;
    expect(unrecordableRefusal(add, decision, evolve(state, decision.deltas))).toMatchObject({
      code: "invalid_value",
      message: expect.stringContaining("opens a new scene"),
    });
    // and a new scene, which records the old one whole, would not be recorded either: the game
    // master is told how to leave it
    const scene = command({ kind: "scene", title: "Elsewhere" });
    const next = decide(state, scene, ctx(GM)) as Decision;
    expect(unrecordableRefusal(scene, next, evolve(state, next.deltas))).toMatchObject({
      code: "invalid_value",
      message: expect.stringContaining("removes some of its aspects first"),
    });
    // which they may, one aspect a turn, until the scene is one the next records
    let shrinking = state;
    for (let i = 0; ; i++) {
      const remove = command({ kind: "aspect", op: "remove", id: `a${i}` });
      const removed = decide(shrinking, remove, ctx(GM)) as Decision;
      expect(isRejection(removed)).toBe(false);
      const after = evolve(shrinking, removed.deltas);
      expect(unrecordableRefusal(remove, removed, after)).toBeNull();
      shrinking = after;
      const leaving = decide(shrinking, scene, ctx(GM)) as Decision;
      if (unrecordableRefusal(scene, leaving, evolve(shrinking, leaving.deltas)) === null) break;
      expect(i).toBeLessThan(300);
    }
  });
});
