import { Client } from "@colyseus/sdk";
import { UniverseSession } from "@loom/client-sdk";
import { Fleet, pool, type Layout } from "./fleet.ts";
import { KEEP_TURNS } from "./loom-fleet.ts";
import { SimMember, type MemberRole } from "./member.ts";

const SETUP_CONCURRENCY = 16;

/**
 * The same members against the bare room: the same SDK session class on top of a plain
 * Colyseus join, so sending, receiving and timing run through identical client code.
 */
export async function populateBare(
  url: string,
  layout: Layout,
  createRoom: () => Promise<string>,
): Promise<Fleet> {
  const fleet = new Fleet();
  const join = async (
    roomId: string,
    role: MemberRole,
    universe: number,
    playerId: string,
    characterId: string | null,
  ) => {
    const room = await new Client(url).joinById(roomId, { role, playerId });
    return new SimMember(
      new UniverseSession(room, KEEP_TURNS),
      role,
      universe,
      playerId,
      characterId,
      fleet.recordAck,
      false,
    );
  };
  for (let index = 0; index < layout.universes; index++) {
    const id = await createRoom();
    const gm = await join(id, "gm", index, `gm-${index + 1}`, null);
    fleet.universes.push({ index, id, gm });
    fleet.members.push(gm);
  }
  const spectators = Array.from(
    { length: layout.universes * layout.spectatorsPerUniverse },
    (_, i) => i % layout.universes,
  );
  await pool(spectators, SETUP_CONCURRENCY, async (universe, i) => {
    fleet.members.push(
      await join(fleet.universes[universe]!.id, "spectator", universe, `spectator-${i + 1}`, null),
    );
  });
  const players = Array.from({ length: layout.characters }, (_, i) => i % layout.universes);
  await pool(players, SETUP_CONCURRENCY, async (universe, i) => {
    fleet.members.push(
      await join(fleet.universes[universe]!.id, "player", universe, `player-${i + 1}`, `character-${i + 1}`),
    );
  });
  return fleet;
}
