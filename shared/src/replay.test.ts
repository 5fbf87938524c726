import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksum } from "./canonical.ts";
import { seededDice } from "./dice.ts";
import { evolve } from "./evolve.ts";
import { reexecute, replayDeltas, sameDeltas } from "./replay.ts";
import { snapshotDue } from "./snapshot-policy.ts";
import { stateSchema, type UniverseState } from "./state.ts";
import { simulateCampaign } from "./testing/campaign.ts";
import { turnSchema, type Turn } from "./turn.ts";

const SEED = 90210;
const campaign = simulateCampaign({ seed: SEED, turns: 1000 });

describe("a simulated 1,000-turn campaign", () => {
  it("has positions 1..N, ids, the universe id, a ticking clock, and valid turns and state", () => {
    expect(campaign.turns.map((turn) => turn.position)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    expect(new Set(campaign.turns.map((turn) => turn.id)).size).toBe(1000);
    expect(campaign.turns.every((turn) => turn.universeId === "universe-sim")).toBe(true);
    const times = campaign.turns.map((turn) => Date.parse(turn.createdAt));
    expect(times.every((time, i) => i === 0 || time > times[i - 1]!)).toBe(true);
    for (const turn of campaign.turns) turnSchema.parse(turn);
    stateSchema.parse(campaign.final);
  });

  it("is a realistic mix: actions, combat, choices, free text, world events, scenes, undos, sessions, retcons", () => {
    const kinds = new Map<string, number>();
    for (const turn of campaign.turns) kinds.set(turn.kind, (kinds.get(turn.kind) ?? 0) + 1);
    for (const kind of [
      "action",
      "combat",
      "choice",
      "custom",
      "world_event",
      "undo",
      "session_start",
      "session_end",
    ]) {
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(10);
    }
    expect(kinds.get("retcon") ?? 0).toBeGreaterThan(0);
    expect(kinds.get("action")! + kinds.get("combat")!).toBeGreaterThan(300);
    const events = new Set(campaign.turns.flatMap((turn) => turn.events.map((event) => event.type)));
    for (const type of [
      "aspect_created",
      "taken_out",
      "scene_started",
      "quest_resolved",
      "compel_accepted",
      "attitude_changed",
    ])
      expect(events).toContain(type);
    expect(campaign.turns.filter((turn) => turn.status === "undone").length).toBe(kinds.get("undo"));
  });

  it("is the same campaign for the same seed, and another for another seed", () => {
    const again = simulateCampaign({ seed: SEED, turns: 200 });
    expect(canonicalJson(again.turns)).toBe(canonicalJson(campaign.turns.slice(0, 200)));
    expect(canonicalJson(simulateCampaign({ seed: SEED + 1, turns: 200 }).turns)).not.toBe(
      canonicalJson(again.turns),
    );
  });
});

describe("determinism (DESIGN §3)", () => {
  it("delta replay of the recorded log gives the live run's checksum, batched or turn by turn", () => {
    expect(checksum(replayDeltas(campaign.genesis, campaign.turns))).toBe(checksum(campaign.final));
    let stepwise: UniverseState = campaign.genesis;
    for (const turn of campaign.turns) stepwise = evolve(stepwise, turn.deltas);
    expect(checksum(stepwise)).toBe(checksum(campaign.final));
  });

  it("re-execution of the recorded inputs with the recorded seeds gives the same deltas and checksum", () => {
    const again = reexecute(campaign.genesis, campaign.turns, seededDice(SEED));
    expect(again.divergedAt).toBeNull();
    expect(checksum(again.state)).toBe(checksum(campaign.final));
  });

  it("holds for random campaigns too (fixed seeds)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 6 }),
        (seed, characters) => {
          const run = simulateCampaign({ seed, turns: 1000, characters });
          const final = checksum(run.final);
          expect(checksum(replayDeltas(run.genesis, run.turns))).toBe(final);
          const again = reexecute(run.genesis, run.turns, seededDice(seed));
          expect(again.divergedAt).toBeNull();
          expect(checksum(again.state)).toBe(final);
        },
      ),
      { seed: 1121, numRuns: 3 },
    );
  });

  it("re-execution notices a tampered log, and dice from the wrong seed", () => {
    const rolled = campaign.turns.findIndex((turn) =>
      turn.deltas.some((delta) => delta.op === "set" && delta.path.startsWith("/scene/aspects/")),
    );
    const tampered: Turn[] = campaign.turns.map((turn, i) =>
      i === rolled
        ? {
            ...turn,
            deltas: turn.deltas.map((delta) =>
              delta.path.startsWith("/scene/aspects/")
                ? { ...delta, value: { ...(delta.value as object), freeInvokes: 9 } }
                : delta,
            ),
          }
        : turn,
    );
    expect(reexecute(campaign.genesis, tampered, seededDice(SEED)).divergedAt).toBe(rolled + 1);
    const upTo = rolled + 1;
    expect(checksum(replayDeltas(campaign.genesis, tampered.slice(0, upTo)))).not.toBe(
      checksum(replayDeltas(campaign.genesis, campaign.turns.slice(0, upTo))),
    );
    expect(reexecute(campaign.genesis, campaign.turns, seededDice(SEED + 1)).divergedAt).not.toBeNull();
  });

  it("re-execution says what differs: a dice face of the recorded roll, a delta's value", () => {
    // given a recorded roll with one die turned
    const rolled = campaign.turns.findIndex((turn) => turn.resolution !== null);
    const turn = campaign.turns[rolled]!;
    const faces = turn.resolution!.dice;
    const turned = faces.map((face, i) => (i === 0 ? (face === 1 ? -1 : face + 1) : face));
    const tampered = campaign.turns.map<Turn>((t, i) =>
      i === rolled ? ({ ...t, resolution: { ...t.resolution!, dice: turned } } as Turn) : t,
    );
    // when it is re-executed, then the roll is named with both values
    const again = reexecute(campaign.genesis, tampered, seededDice(SEED));
    expect(again.divergedAt).toBe(turn.position);
    expect(again.difference).toBe(
      `the roll's dice: recorded ${canonicalJson(turned)}, re-executed ${canonicalJson(faces)}`,
    );
    // and a delta's value: the delta is named by its place and path
    const changed = campaign.turns.findIndex((t) =>
      t.deltas.some((d) => d.op === "set" && typeof d.value === "number"),
    );
    const index = campaign.turns[changed]!.deltas.findIndex(
      (d) => d.op === "set" && typeof d.value === "number",
    );
    const delta = campaign.turns[changed]!.deltas[index]!;
    const edited = campaign.turns.map<Turn>((t, i) =>
      i === changed
        ? {
            ...t,
            deltas: t.deltas.map((d, j) => (j === index ? { ...d, value: (d.value as number) + 1 } : d)),
          }
        : t,
    );
    const found = reexecute(campaign.genesis, edited, seededDice(SEED));
    expect(found.divergedAt).toBe(changed + 1);
    expect(found.difference).toMatch(
      new RegExp(`^delta ${index + 1} at ${delta.path.replace(/[/]/g, "\\/")}: recorded `),
    );
    expect(reexecute(campaign.genesis, campaign.turns, seededDice(SEED)).difference).toBeNull();
  });

  it("deltas on unrelated paths may come in another order; on the same place they may not", () => {
    const a = { op: "set" as const, path: "/world/npcs/ash/stress/1", value: false, prev: true };
    const b = { op: "set" as const, path: "/world/npcs/brannoc/stress/1", value: false, prev: true };
    const inner = { op: "set" as const, path: "/world/npcs/ash/stress", value: [false], prev: [true] };
    expect(sameDeltas([a, b], [b, a])).toBe(true);
    expect(sameDeltas([a, inner], [inner, a])).toBe(false);
    expect(sameDeltas([a, b], [a, a])).toBe(false);
    expect(sameDeltas([a], [a, b])).toBe(false);
  });

  it("any position rebuilt from the nearest snapshot plus the deltas after it equals the live state there", () => {
    const snapshots: Array<{ position: number; state: UniverseState; checksum: string }> = [
      { position: 0, state: campaign.genesis, checksum: checksum(campaign.genesis) },
    ];
    const live: string[] = [checksum(campaign.genesis)];
    let state = campaign.genesis;
    let turns = 0;
    let deltas = 0;
    for (const turn of campaign.turns) {
      state = evolve(state, turn.deltas);
      live.push(checksum(state));
      turns += 1;
      deltas += turn.deltas.length;
      if (
        snapshotDue({
          position: turn.position,
          turnsSinceSnapshot: turns,
          deltasSinceSnapshot: deltas,
          kind: turn.kind,
          events: turn.events,
        })
      ) {
        snapshots.push({ position: turn.position, state, checksum: checksum(state) });
        turns = 0;
        deltas = 0;
      }
    }
    expect(snapshots.length).toBeGreaterThan(20);
    for (const position of [1, 57, 100, 333, 500, 777, 999, 1000]) {
      const base = snapshots.filter((snapshot) => snapshot.position <= position).at(-1)!;
      const rebuilt = replayDeltas(base.state, campaign.turns.slice(base.position, position));
      expect(checksum(rebuilt), `position ${position}`).toBe(live[position]);
    }
  });
});
