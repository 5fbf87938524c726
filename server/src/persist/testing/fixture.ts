import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { downcastToV1, downcastToV2, type Snapshot, type Turn, type UniverseState } from "@loom/shared";
import type { TurnStore } from "../turn-store.ts";

/** A stored snapshot as the fixture keeps it: the document in the version it was written in. */
export interface FixtureSnapshot {
  position: number;
  reason: "genesis" | "interval_turns";
  checksum: string;
  state: Record<string, unknown>;
}

export interface FixtureTimeline {
  id: string;
  name: string;
  turns: Turn[];
  snapshots: FixtureSnapshot[];
  /** The checksum the older version computed of the state after each of the timeline's own turns. */
  checksums: Record<string, string>;
}

/** A campaign recorded by an older release (scripts/make-state-fixture.ts): a universe and a branch of it. */
export interface CampaignFixture {
  format: "loom-campaign-fixture";
  stateVersion: number;
  seed: number;
  universe: FixtureTimeline;
  branch: FixtureTimeline & { parentId: string; position: number };
}

/** The campaign state version `version` recorded (test/fixtures/campaign-v<version>.json). */
export function readFixture(version: number): CampaignFixture {
  const path = fileURLToPath(new URL(`../../../../test/fixtures/campaign-v${version}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as CampaignFixture;
}

/**
 * Every older state version with its recorded campaign, and how a current state is taken back to
 * it: rebuilt states are held to the checksums that version recorded.
 */
export const OLDER_VERSIONS = [
  { version: 1, read: () => readFixture(1), downcast: downcastToV1 },
  { version: 2, read: () => readFixture(2), downcast: downcastToV2 },
] as const;

export interface LoadedFixture {
  universeId: string;
  branchId: string;
  /** The fixture's turns as this load stored them (ids renamed, deltas as recorded), by timeline. */
  turns: { universe: Turn[]; branch: Turn[] };
}

/**
 * Writes a fixture campaign into a store through its ordinary port, exactly as the older release
 * left it: turns with their recorded deltas, snapshots with their stored documents and checksums,
 * undo marks, and the branch as a pointer. Ids get `suffix` so loads sharing a database never meet.
 */
export async function loadFixture(
  store: TurnStore,
  fixture: CampaignFixture,
  suffix: string,
  createdBy = "fixture",
): Promise<LoadedFixture> {
  const universeId = `${fixture.universe.id}-${suffix}`;
  const branchId = `${fixture.branch.id}-${suffix}`;
  const genesis = fixture.universe.snapshots.find((snapshot) => snapshot.position === 0)!;
  await store.createUniverse(
    { id: universeId, name: fixture.universe.name, createdBy },
    genesis.state as unknown as UniverseState,
  );
  const universe = await append(store, universeId, fixture.universe, 0);
  await store.branchUniverse({
    id: branchId,
    parentId: universeId,
    position: fixture.branch.position,
    name: fixture.branch.name,
    createdBy,
  });
  const branch = await append(store, branchId, fixture.branch, fixture.branch.position);
  return { universeId, branchId, turns: { universe, branch } };
}

async function append(
  store: TurnStore,
  id: string,
  timeline: FixtureTimeline,
  after: number,
): Promise<Turn[]> {
  const turns = timeline.turns.map((turn) => ({
    ...turn,
    universeId: id,
    id: `${id}-turn-${turn.position}`,
    status: "applied" as const,
  }));
  const snapshots: Snapshot[] = timeline.snapshots.map((snapshot) => ({
    universeId: id,
    position: snapshot.position,
    state: snapshot.state,
    checksum: snapshot.checksum,
    reason: snapshot.reason,
    createdAt:
      turns.find((turn) => turn.position === snapshot.position)?.createdAt ?? "2026-01-01T18:00:00.000Z",
  }));
  const undone = turns
    .filter((turn) => turn.kind === "undo")
    .map((turn) => (turn.input as { targetPosition: number }).targetPosition);
  await store.appendTurns(id, { expectedHead: after, turns, snapshots, undone });
  const stored = timeline.turns.map((turn) => ({
    ...turn,
    universeId: id,
    id: `${id}-turn-${turn.position}`,
  }));
  return stored;
}
