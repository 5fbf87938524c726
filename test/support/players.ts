import type { Room } from "@colyseus/sdk";
import { connect, type LoomClient, type UniverseSession } from "../../client-sdk/src/index.ts";
import type { CharacterSheetInput } from "@loom/shared";

export function sheet(name: string, overrides: Partial<CharacterSheetInput> = {}): CharacterSheetInput {
  return {
    name,
    highConcept: `${name}, wandering cartographer`,
    trouble: "Owes the Salt Guild",
    aspects: ["Never forgets a road"],
    skills: { Athletics: 2, Notice: 3, Fight: 1, Will: 1, Physique: 2, Lore: 2 },
    ...overrides,
  };
}

export interface Table {
  gm: LoomClient;
  universeId: string;
  /** An invite code to the (private) universe, for anyone else a test lets in. */
  inviteCode: string;
  players: Array<{ client: LoomClient; characterId: string; runId: string; playerId: string }>;
}

/** A GM, a universe and `count` players with one character and run each. */
export async function setTable(
  url: string,
  names: string[],
  sheets: Record<string, Partial<CharacterSheetInput>> = {},
): Promise<Table> {
  const gm = connect(url);
  await gm.registerPlayer("Game Master");
  const universe = await gm.createUniverse({ name: "The Salt Marches", premise: "A drowned coast" });
  const invite = await gm.createInvite(universe.id);
  const players = [];
  for (const name of names) {
    const client = connect(url);
    const { player } = await client.registerPlayer(name);
    await client.acceptInvite(invite.code);
    const { character, run } = await client.createCharacter(universe.id, sheet(name, sheets[name]));
    players.push({ client, characterId: character.id, runId: run.id, playerId: player.id });
  }
  return { gm, universeId: universe.id, inviteCode: invite.code, players };
}

export function overcome(characterId: string, description = "pushes through the marsh") {
  return {
    kind: "action" as const,
    action: "overcome" as const,
    characterId,
    skill: "Athletics",
    description,
  };
}

export async function joinAll(table: Table): Promise<UniverseSession[]> {
  const sessions: UniverseSession[] = [];
  for (const player of table.players) {
    sessions.push(
      await player.client.joinUniverse(table.universeId, { role: "player", runId: player.runId }),
    );
  }
  return sessions;
}

/**
 * Breaks a session's connection, and lets it back on the same seat only once `until` settles.
 * Resolves when it is seated again, its reconnection as it was.
 */
export function breakUntil(session: UniverseSession, until: Promise<unknown>): Promise<void> {
  const seat = (session as unknown as { current: Room }).current;
  const connection = seat.connection as unknown as { reconnect(...args: unknown[]): void };
  const reconnect = connection.reconnect.bind(connection);
  connection.reconnect = (...args) => void until.then(() => reconnect(...args));
  const back = new Promise<void>((resolve) => {
    const stopListening = session.on("reconnected", () => {
      stopListening();
      connection.reconnect = reconnect;
      resolve();
    });
  });
  (seat.connection.transport as unknown as { ws: { _socket?: { destroy(): void } } }).ws._socket!.destroy();
  return back;
}
