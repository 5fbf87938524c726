import { describe, expect, it } from "vitest";
import { applyDeltas, type Delta, type UniverseState } from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { stateProblem, touchedProblem } from "./state-check.ts";

/**
 * An import parses a snapshot's state with the state's schema only where the turns since the last
 * parse touched it (touchedProblem): it must find what a parse of the whole state finds.
 */
describe("touchedProblem: the parts of a state its deltas touched, parsed", () => {
  const campaign = simulateCampaign({ seed: 77, turns: 400 });
  const state = campaign.final;
  const characterId = Object.keys(state.characters)[0]!;
  expect(state.world.majorEvents.length).toBeGreaterThan(0);

  it("finds nothing in a campaign played by the rules, touched everywhere it played", () => {
    let current: UniverseState = campaign.genesis;
    const touched = new Set<string>();
    for (const turn of campaign.turns) {
      current = applyDeltas(current, turn.deltas);
      for (const delta of turn.deltas) touched.add(delta.path);
    }
    expect(touched.size).toBeGreaterThan(10);
    expect(stateProblem(current)).toBeNull();
    expect(touchedProblem(current, touched)).toBeNull();
  });

  const cases: Array<[string, Delta[]]> = [
    ["a mode no state has", [{ op: "set", path: "/mode", value: "bogus" }]],
    ["another state version", [{ op: "set", path: "/version", value: 2 }]],
    ["a required member unset", [{ op: "unset", path: "/canon/summaryLong" }]],
    ["a number made a string", [{ op: "set", path: `/characters/${characterId}/fatePoints`, value: "x" }]],
    ["a character that is no character", [{ op: "set", path: "/characters/nobody", value: { name: "N" } }]],
    ["a character replaced by a number", [{ op: "set", path: `/characters/${characterId}`, value: 5 }]],
    ["a flag that is an object", [{ op: "set", path: "/world/flags/odd", value: { a: 1 } }]],
    [
      "a major event that is a number",
      [{ op: "push", path: `/world/majorEvents/${state.world.majorEvents.length}`, value: 5 }],
    ],
    [
      "an element moved after another was set",
      [
        { op: "push", path: "/world/majorEvents/0", value: 5 },
        // a major event as the rules record one, in front of the bad one
        { op: "push", path: "/world/majorEvents/0", value: state.world.majorEvents[0] },
      ],
    ],
    ["a record replaced by an array", [{ op: "set", path: "/world/factions", value: [] }]],
    ["a whole member replaced", [{ op: "set", path: "/scene", value: { id: "s" } }]],
    // what the schema lets by either way
    ["a character gone", [{ op: "unset", path: `/characters/${characterId}` }]],
    ["a member the schema does not describe", [{ op: "set", path: "/extra", value: 1 }]],
    ["a flag that is a number", [{ op: "set", path: "/world/flags/odd", value: 3 }]],
  ];
  for (const [name, deltas] of cases) {
    it(`${name}: found as a whole parse finds it`, () => {
      const changed = applyDeltas(state, deltas);
      const whole = stateProblem(changed);
      const touched = touchedProblem(
        changed,
        deltas.map((delta) => delta.path),
      );
      expect(touched === null, `${touched} / ${whole}`).toBe(whole === null);
    });
  }

  // the room's synced maps index their keys in a plain object, where these find functions
  for (const key of ["valueOf", "toString", "constructor", "hasOwnProperty"]) {
    it(`a character or scene aspect kept under "${key}": found by both parses`, () => {
      const character = { ...state.characters[characterId]!, id: key };
      const aspect = {
        id: key,
        name: "Fog",
        freeInvokes: 0,
        boost: false,
        createdBy: null,
        sourcePosition: 1,
      };
      for (const [path, value] of [
        [`/characters/${key}`, character],
        [`/scene/aspects/${key}`, aspect],
      ] as const) {
        const changed = applyDeltas(state, [{ op: "set", path, value }]);
        expect(touchedProblem(changed, [path]), path).toBe(
          `${path}: a name every object inherits cannot be a key here`,
        );
        expect(stateProblem(changed), path).toBe(
          `${path}: a name every object inherits cannot be a key here`,
        );
      }
    });
  }

  it("names where the state is wrong", () => {
    const changed = applyDeltas(state, [
      { op: "set", path: `/characters/${characterId}/fatePoints`, value: "x" },
    ]);
    expect(touchedProblem(changed, [`/characters/${characterId}/fatePoints`])).toMatch(
      new RegExp(`^/characters/${characterId}/fatePoints: `),
    );
    expect(stateProblem({ version: 3 })).toMatch(/^\/universe: /);
  });
});
