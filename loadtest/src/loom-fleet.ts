import { connect, type LoomClient } from "@loom/client-sdk";
import { characterSheet } from "./commands.ts";
import { Fleet, pool, type Layout, type StoredTurn } from "./fleet.ts";
import { SimMember } from "./member.ts";

const SETUP_CONCURRENCY = 16;
const PAGE = 500;
/**
 * Members check the timeline as it streams (TimelineWatch), so a session keeps none of it: kept
 * turns would only outlive young-generation collections and be copied by them. The bare room's
 * sessions keep none either.
 */
export const KEEP_TURNS = 0;

/** The stored timeline of a universe, every page, as its GM reads it over HTTP. */
async function readTimeline(gm: LoomClient, universeId: string): Promise<StoredTurn[]> {
  const turns: StoredTurn[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = await gm.history(universeId, { cursor, limit: PAGE, order: "asc" });
    for (const turn of page.turns) turns.push({ position: turn.position, id: turn.id });
    if (page.nextCursor === null || page.turns.length === 0) return turns;
    cursor = page.nextCursor;
  }
}

/**
 * Sets the table on a Loom server: per universe a GM who creates it and joins as gm, then the
 * spectators, then the players — each registered, with a character and its run — joining as
 * players. Members join in that order so each one's "after my join" starts at a known point.
 */
export async function populateLoom(
  url: string,
  layout: Layout,
  /** The deployment's other processes: members fail over to them (fault tests). */
  servers: string[] = [],
): Promise<Fleet> {
  const fleet = new Fleet();
  const gmClients: LoomClient[] = [];
  await pool(
    Array.from({ length: layout.universes }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (index) => {
      const gm = connect(url, { servers });
      const { player } = await gm.registerPlayer(`GM ${index + 1}`);
      const universe = await gm.createUniverse({
        name: `Load universe ${index + 1}`,
        premise: "A drowned coast under load",
        // simulated players join without invites
        visibility: "public",
      });
      const session = await gm.joinUniverse(universe.id, { role: "gm", keepTurns: KEEP_TURNS });
      const member = new SimMember(session, "gm", index, player.id, null, fleet.recordAck);
      gmClients[index] = gm;
      fleet.universes[index] = {
        index,
        id: universe.id,
        gm: member,
        readTimeline: () => readTimeline(gm, universe.id),
      };
    },
  );
  fleet.members.push(...fleet.universes.map((universe) => universe.gm));

  const spectators = Array.from(
    { length: layout.universes * layout.spectatorsPerUniverse },
    (_, i) => i % layout.universes,
  );
  await pool(spectators, SETUP_CONCURRENCY, async (universe, i) => {
    const client = connect(url, { servers });
    const { player } = await client.registerPlayer(`Spectator ${i + 1}`);
    const session = await client.joinUniverse(fleet.universes[universe]!.id, {
      role: "spectator",
      keepTurns: KEEP_TURNS,
    });
    fleet.members.push(new SimMember(session, "spectator", universe, player.id, null, fleet.recordAck));
  });

  const players = Array.from({ length: layout.characters }, (_, i) => i % layout.universes);
  await pool(players, SETUP_CONCURRENCY, async (universe, i) => {
    const client = connect(url, { servers });
    const name = `Walker ${i + 1}`;
    const { player } = await client.registerPlayer(name);
    const universeId = fleet.universes[universe]!.id;
    const { character, run } = await client.createCharacter(universeId, characterSheet(name));
    const session = await client.joinUniverse(universeId, {
      role: "player",
      runId: run.id,
      keepTurns: KEEP_TURNS,
    });
    fleet.members.push(new SimMember(session, "player", universe, player.id, character.id, fleet.recordAck));
  });
  return fleet;
}
