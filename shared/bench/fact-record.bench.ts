// What recording a canon fact costs to apply, by how many facts the state holds: version 1's one
// record of facts (`/canon/facts/<id>`, the record copied whole) against the buckets of today's
// version (`/canon/factBuckets/<b>/<id>`, the bucket index and one bucket copied). Each turn replaces one
// fact, chained as play chains them, on otherwise the same state. Also: what upcasting a version 1
// snapshot costs.
import {
  applyDeltas,
  canonicalJson,
  downcastToV1,
  factPath,
  upcastState,
  type CanonFact,
  type Delta,
} from "../src/index.ts";
import { simulateCampaign } from "../src/testing/campaign.ts";
import { seedUniverse } from "../src/testing/universe.ts";

const TURNS = 5_000;

function fact(id: string, sourcePosition: number): CanonFact {
  return {
    id,
    type: "relationship",
    value: { note: `fact ${id}` },
    confidence: 1,
    sourcePosition,
    supersededAt: null,
  };
}

function v1Document(count: number): Record<string, unknown> {
  const document = downcastToV1(seedUniverse());
  const facts = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`fact-${i}`, fact(`fact-${i}`, 0)]),
  );
  return { ...document, canon: { ...(document.canon as object), facts } };
}

function microsPerTurn(start: unknown, delta: (turn: number) => Delta): number {
  let state = start;
  for (let turn = 0; turn < 2_000; turn++) state = applyDeltas(state, [delta(turn)]);
  const began = performance.now();
  for (let turn = 0; turn < TURNS; turn++) state = applyDeltas(state, [delta(turn)]);
  return Number((((performance.now() - began) * 1000) / TURNS).toFixed(2));
}

export default async function factRecord(): Promise<Record<string, unknown>> {
  const figures: Record<string, unknown> = { turns: TURNS };
  for (const count of [200, 1_000, 4_000]) {
    const document = v1Document(count);
    const id = (turn: number) => `fact-${(turn * 7919) % count}`;
    figures[`facts_${count}`] = {
      v1_us_per_turn: microsPerTurn(document, (turn) => ({
        op: "set",
        path: `/canon/facts/${id(turn)}`,
        value: fact(id(turn), turn),
      })),
      bucketed_us_per_turn: microsPerTurn(upcastState(document), (turn) => ({
        op: "set",
        path: factPath(id(turn)),
        value: fact(id(turn), turn),
      })),
    };
  }
  // What reading a version 1 snapshot costs a jump: the upcast (bucketing, then validation), on the
  // state a 20,000-turn campaign ends with.
  const document = downcastToV1(simulateCampaign({ seed: 5, turns: 20_000 }).final);
  const copies = Array.from({ length: 20 }, () => structuredClone(document));
  const began = performance.now();
  for (const copy of copies) upcastState(copy);
  figures.v1_snapshot_upcast = {
    state_kb: Math.round(canonicalJson(document).length / 1024),
    ms: Number(((performance.now() - began) / copies.length).toFixed(1)),
  };
  return figures;
}
