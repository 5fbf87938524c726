import { matchMaker } from "@colyseus/core";
import { checksum, replayDeltas } from "@loom/shared";
import type { LoomServer } from "../../server/src/app.ts";
import type { UniverseAuthority } from "../../server/src/universe/authority.ts";
import { waitFor } from "../support/server.ts";

export interface Finding {
  universeId: string;
  problem: string;
}

/** The authority behind a room this process hosts (null when no room is open for it here). */
function localAuthority(universeId: string): UniverseAuthority | null {
  const room = matchMaker.getLocalRoomById(universeId) as unknown as
    { authority?: UniverseAuthority } | undefined;
  return room?.authority ?? null;
}

/**
 * Every universe with turns: its live state (when a room here holds it) and its persisted head
 * state have the checksum of a replay of its whole timeline from genesis.
 *
 * With `since` (the heads of an earlier listing), only the universes that could have changed: a
 * room here holds them, they are new, or their head moved. The database may hold the universes
 * of every test before, and a replay of each after every route would be most of the suite's time;
 * a full check still ends each test.
 */
export async function checkUniverses(
  server: LoomServer,
  since?: ReadonlyMap<string, number>,
): Promise<Finding[]> {
  const { turnStore } = server.services;
  const findings: Finding[] = [];
  const universes = await turnStore.listUniverses({ limit: 100_000 });
  for (const universe of universes) {
    const authority = localAuthority(universe.id);
    if (since && !authority && since.get(universe.id) === universe.headPosition) continue;
    let head = await turnStore.headPosition(universe.id);
    // the live head and state as of the persisted head: a turn the server adds on its own (a
    // session that ends when a closed seat's reconnection window runs out) may land meanwhile,
    // and is persisted and read again, a few times at most
    let live: { head: number; state: unknown } | null = null;
    for (let tries = 0; authority && tries < 5 && live?.head !== head; tries++) {
      await settle(authority, universe.id);
      head = await turnStore.headPosition(universe.id);
      live = { head: authority.head, state: authority.state };
    }
    if (head === 0 && !authority) continue;
    const genesis = await turnStore.stateAt(universe.id, 0);
    const turns = await turnStore.turnsBetween(universe.id, 0, head);
    if (turns.length !== head || turns.some((turn, i) => turn.position !== i + 1)) {
      findings.push({ universeId: universe.id, problem: `timeline 1..${head} has gaps or duplicates` });
      continue;
    }
    const replayed = checksum(replayDeltas(genesis.state, turns));
    const persisted = await turnStore.stateAt(universe.id, head);
    if (persisted.checksum !== replayed)
      findings.push({ universeId: universe.id, problem: `state at @${head} differs from its replay` });
    if (live && live.head !== head)
      findings.push({ universeId: universe.id, problem: `live head ${live.head}, persisted ${head}` });
    else if (live && checksum(live.state) !== replayed)
      findings.push({ universeId: universe.id, problem: `live state differs from the replay of @${head}` });
  }
  return findings;
}

/** Every turn the universe's room has decided is applied and persisted. */
async function settle(authority: UniverseAuthority, universeId: string): Promise<void> {
  await authority.settled();
  await waitFor(
    async () => {
      await authority.flush();
      return authority.pendingCount === 0;
    },
    20_000,
    `universe ${universeId} persisted`,
  );
}
