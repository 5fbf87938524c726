// Bytes on the wire per turn: what the server writes to each member's TCP socket (WebSocket frames:
// turns, acks, state patches, durable marks, narration) and reads from an actor, over a window of
// turns at a table the size the load harness uses (20 players, a GM, 2 spectators). Counted from
// the sockets' own byte counters in the server, so framing is included and nothing is estimated.
// Embedded and in memory: the storage mode does not change what goes to clients.
import { matchMaker } from "@colyseus/core";
import { loadConfig } from "../src/config.ts";
import { startLoomServer } from "../src/app.ts";
import { socketOf } from "../src/rooms/output-batch.ts";
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";

const PLAYERS = 20;
const SPECTATORS = 2;
const TURNS = 400;

interface Seat {
  role: "player" | "gm" | "spectator";
  session: UniverseSession;
  characterId?: string;
}

async function table(url: string): Promise<{ universeId: string; seats: Seat[] }> {
  const gm = connect(url);
  await gm.registerPlayer("Wire GM");
  const universe = await gm.createUniverse({ name: "Wire", visibility: "public" });
  const seats: Seat[] = [{ role: "gm", session: await gm.joinUniverse(universe.id, { role: "gm" }) }];
  for (let i = 0; i < PLAYERS; i++) {
    const client = connect(url);
    await client.registerPlayer(`Wire ${i}`);
    const { character, run } = await client.createCharacter(universe.id, {
      name: `Courier ${i}`,
      highConcept: "Courier of the salt roads",
      trouble: "Always late",
      aspects: ["Knows every shortcut"],
      skills: { Athletics: 2, Notice: 1, Will: 1 },
    });
    seats.push({
      role: "player",
      session: await client.joinUniverse(universe.id, { role: "player", runId: run.id }),
      characterId: character.id,
    });
  }
  for (let i = 0; i < SPECTATORS; i++) {
    const client = connect(url);
    await client.registerPlayer(`Wire watcher ${i}`);
    seats.push({ role: "spectator", session: await client.joinUniverse(universe.id, { role: "spectator" }) });
  }
  return { universeId: universe.id, seats };
}

/** Bytes written to and read from each seat's socket in the server, by session id. */
function counters(universeId: string): Map<string, { written: number; read: number }> {
  const room = matchMaker.getLocalRoomById(universeId);
  const found = new Map<string, { written: number; read: number }>();
  for (const client of room.clients) {
    const socket = socketOf(client) as unknown as { bytesWritten: number; bytesRead: number } | undefined;
    if (socket) found.set(client.sessionId, { written: socket.bytesWritten, read: socket.bytesRead });
  }
  return found;
}

const round = (n: number) => Math.round(n);

export default async function wireBench(): Promise<Record<string, unknown>> {
  const port = 2589 + Number(process.env.LOOM_TEST_PORT_OFFSET ?? 0);
  const config = loadConfig(process.env, {
    port,
    actionsPerSecond: 0,
    databaseUrl: null,
    redisUrl: null,
    inMemory: true,
  });
  const loom = await startLoomServer(config);
  try {
    const { universeId, seats } = await table(`http://127.0.0.1:${port}`);
    const players = seats.filter((seat) => seat.role === "player");
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // joins' patches and recaps settle
    const before = counters(universeId);
    for (let i = 0; i < TURNS; i++) {
      const player = players[i % players.length]!;
      const result = await player.session.act({
        kind: "action",
        action: "overcome",
        characterId: player.characterId!,
        skill: "Athletics",
        opposition: 2,
        description: `runs the causeway before the tide, stride ${i}`,
      });
      if (!result.ok) throw new Error(`turn ${i} refused: ${result.rejection.code}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // narration, marks and patches follow
    const after = counters(universeId);
    const byRole = new Map<Seat["role"], number[]>();
    let totalWritten = 0;
    let playerRead = 0;
    for (const seat of seats) {
      const id = seat.session.room.sessionId;
      const written = after.get(id)!.written - before.get(id)!.written;
      totalWritten += written;
      if (seat.role === "player") playerRead += after.get(id)!.read - before.get(id)!.read;
      byRole.set(seat.role, [...(byRole.get(seat.role) ?? []), written / TURNS]);
    }
    const mean = (values: number[] = []) =>
      values.reduce((sum, n) => sum + n, 0) / Math.max(1, values.length);
    return {
      turns: TURNS,
      members: seats.length,
      bytesPerTurnToEachPlayer: round(mean(byRole.get("player"))),
      bytesPerTurnToGm: round(mean(byRole.get("gm"))),
      bytesPerTurnToEachSpectator: round(mean(byRole.get("spectator"))),
      bytesPerTurnOutAllMembers: round(totalWritten / TURNS),
      bytesPerActIn: round(playerRead / TURNS),
    };
  } finally {
    await loom.shutdown();
  }
}
