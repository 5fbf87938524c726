/**
 * Writes test/fixtures/campaign-v<N>.json: a campaign recorded by the rules of state version N, the
 * layout every universe created before version N + 1 has in its stored turns and snapshots. The
 * files are checked in, each produced by running this script on the last commit of its version:
 * ccaf8e0 for version 1, 7757576 for version 2:
 *
 *   git worktree add /tmp/loom-v2 7757576 && cp scripts/make-state-fixture.ts /tmp/loom-v2/scripts/
 *   cd /tmp/loom-v2 && npm ci && npx tsx scripts/make-state-fixture.ts 2 > campaign-v2.json
 *
 * Run on a commit of another version it would record that version instead, which is no use as a
 * fixture of N: the script refuses.
 *
 * The campaign: 160 seeded turns decided by the real rules (actions, world events, scenes,
 * retcons, undos, sessions), snapshots at genesis and every 40 turns with their checksums, and a
 * branch from position 100 with 40 turns of its own and a snapshot at 120, and the checksum of the
 * state after every turn. Everything is derived from the seed, so the output is the same on every
 * run.
 */
import {
  canonicalJson,
  checksum,
  createRandom,
  decide,
  evolve,
  isRejection,
  seededDice,
  STATE_VERSION,
  turnSeed,
} from "@loom/shared";
import type { Random, Turn, UniverseState } from "@loom/shared";
import { gmCommand, playerCommand, recordTurn, seedUniverse } from "@loom/shared/testing";
import type { Proposal } from "@loom/shared/testing";

// Typed loosely on purpose: the script has to compile on every commit it records, where these differ.
const version: number = STATE_VERSION;
const wanted = Number(process.argv[2] ?? 1);

if (version !== wanted) {
  process.stderr.write(
    `this commit records state version ${version}; run the script on the last commit of version ${wanted}\n`,
  );
  process.exit(1);
}

const SEED = 20_261_201;
const UNIVERSE = `universe-v${version}-fixture`;
const BRANCH = `universe-v${version}-fixture-branch`;
const MAIN_TURNS = 160;
const BRANCH_AT = 100;
const BRANCH_TURNS = 40;
const SNAPSHOT_EVERY = 40;
const UNDO_WINDOW = 40;
const START_MS = Date.parse("2026-01-01T18:00:00.000Z");

interface FixtureSnapshot {
  position: number;
  reason: "genesis" | "interval_turns";
  checksum: string;
  state: UniverseState;
}

/** The canon facts by id, in one record (version 1) or in buckets (version 2). */
function factsOf(state: UniverseState): Record<string, unknown> {
  const canon = state.canon as unknown as {
    facts?: Record<string, unknown>;
    factBuckets?: Record<string, Record<string, unknown>>;
  };
  return (
    canon.facts ?? (Object.assign({}, ...Object.values(canon.factBuckets ?? {})) as Record<string, unknown>)
  );
}

/** Plays `count` turns after `start` on `state`, as simulateCampaign does, from a given timeline. */
function play(
  universeId: string,
  state: UniverseState,
  timeline: Turn[],
  start: number,
  count: number,
  chooser: Random,
  scripted: Record<number, (state: UniverseState) => Proposal> = {},
): { turns: Turn[]; states: Map<number, UniverseState> } {
  const dice = seededDice(SEED);
  const turns: Turn[] = [];
  const states = new Map<number, UniverseState>();
  const queued: Proposal[] = [];
  for (let position = start + 1; position <= start + count; position++) {
    const now = new Date(START_MS + (position - 1) * 45_000).toISOString();
    const all = [...timeline, ...turns];
    const window = all.slice(-UNDO_WINDOW);
    for (let attempt = 0; ; attempt++) {
      const proposal: Proposal =
        (attempt === 0 ? scripted[position]?.(state) : undefined) ??
        queued.shift() ??
        (attempt < 8
          ? chooser.int(1, 100) <= 80
            ? playerCommand(state, chooser, window)
            : gmCommand(state, chooser, position)
          : {
              actor: { kind: "gm", playerId: "gm-1" },
              command: { kind: "world_event", text: "Time passes", major: false, deltas: [] },
            });
      const decision = decide(state, proposal.command, {
        position,
        now,
        random: dice(position),
        actor: proposal.actor,
        timeline: window,
      });
      if (isRejection(decision)) continue;
      turns.push(
        recordTurn(decision, {
          universeId,
          position,
          actor: proposal.actor,
          command: proposal.command,
          createdAt: now,
        }),
      );
      if (decision.undoes !== undefined) {
        const undone = [...timeline, ...turns].find((turn) => turn.position === decision.undoes)!;
        undone.status = "undone";
      }
      if (proposal.then) queued.push(proposal.then);
      state = evolve(state, decision.deltas);
      states.set(position, state);
      break;
    }
  }
  return { turns, states };
}

function snapshotOf(
  position: number,
  state: UniverseState,
  reason: FixtureSnapshot["reason"],
): FixtureSnapshot {
  // Stored as its canonical JSON, the way the TurnStore writes snapshots.
  return {
    position,
    reason,
    checksum: checksum(state),
    state: JSON.parse(canonicalJson(state)) as UniverseState,
  };
}

const genesis = seedUniverse({ characters: 3 });
const chooser = createRandom(turnSeed(SEED, 0) ^ 0x2545f491);
const GM = { kind: "gm", playerId: "gm-1" } as const;
// A retcon that supersedes a fact by its version 1 path, and a GM undo of a fact-recording turn on the branch.
const supersede = (state: UniverseState): Proposal => {
  const id = Object.keys(factsOf(state)).sort()[0]!;
  return {
    actor: GM,
    command: {
      kind: "retcon",
      note: `The record of ${id} was mistaken.`,
      deltas: [{ op: "set", path: `/canon/facts/${id}/supersededAt`, value: 140 }],
    },
  };
};
const main = play(UNIVERSE, genesis, [], 0, MAIN_TURNS, chooser, { 140: supersede });
const mainSnapshots = [snapshotOf(0, genesis, "genesis")];
for (let p = SNAPSHOT_EVERY; p <= MAIN_TURNS; p += SNAPSHOT_EVERY)
  mainSnapshots.push(snapshotOf(p, main.states.get(p)!, "interval_turns"));

// The branch sees the parent's turns up to the branch point as they stood then.
const shared = main.turns
  .filter((turn) => turn.position <= BRANCH_AT)
  .map((turn) => {
    const undoneLater = main.turns.some(
      (undo) =>
        undo.kind === "undo" &&
        undo.position > BRANCH_AT &&
        (undo.input as { targetPosition?: number }).targetPosition === turn.position,
    );
    return undoneLater ? { ...turn, status: "applied" as const } : { ...turn };
  });
const branch = play(
  BRANCH,
  main.states.get(BRANCH_AT)!,
  shared,
  BRANCH_AT,
  BRANCH_TURNS,
  createRandom(turnSeed(SEED, 1)),
  {
    126: () => ({ actor: GM, command: { kind: "undo", targetPosition: 125 } }),
  },
);
const branchSnapshots = [snapshotOf(120, branch.states.get(120)!, "interval_turns")];

const count = (turns: Turn[], kind: string) => turns.filter((turn) => turn.kind === kind).length;
const factTurns = (turns: Turn[]) =>
  turns.filter((turn) => turn.deltas.some((delta) => delta.path.startsWith("/canon/fact"))).length;
process.stderr.write(
  `main: ${main.turns.length} turns, ${factTurns(main.turns)} touching canon facts, ` +
    `${count(main.turns, "undo")} undos, ${count(main.turns, "retcon")} retcons; ` +
    `branch: ${branch.turns.length} turns, ${factTurns(branch.turns)} touching canon facts, ` +
    `${count(branch.turns, "undo")} undos, ${count(branch.turns, "retcon")} retcons; ` +
    `facts at the head: ${Object.keys(factsOf(main.states.get(MAIN_TURNS)!)).length}\n`,
);

/** The checksum of the state after every turn, as this version computed it: what jumps must still reach. */
function checksums(states: Map<number, UniverseState>): Record<number, string> {
  return Object.fromEntries([...states].map(([position, state]) => [position, checksum(state)]));
}

const fixture = {
  format: "loom-campaign-fixture",
  stateVersion: version,
  seed: SEED,
  universe: {
    id: UNIVERSE,
    name: `The v${version} coast`,
    turns: main.turns,
    snapshots: mainSnapshots,
    checksums: checksums(main.states),
  },
  branch: {
    id: BRANCH,
    name: `The v${version} coast, otherwise`,
    parentId: UNIVERSE,
    position: BRANCH_AT,
    turns: branch.turns,
    snapshots: branchSnapshots,
    checksums: checksums(branch.states),
  },
};
process.stdout.write(`${JSON.stringify(fixture)}\n`);
