import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { appendMany, appendTurns } from "./append.ts";
import { createTurnStore } from "./index.ts";
import { noDelaySockets } from "./postgres-socket.ts";
import type { Db } from "./rows.ts";
import * as schema from "./schema.ts";
import { freshId } from "./testing/build.ts";
import { cast, recordTurn } from "./testing/records.ts";
import type { TurnStore } from "./turn-store.ts";

const databaseUrl = process.env.DATABASE_URL;

/**
 * One connection whose round trips are counted: a flight is a write to the socket after the
 * server answered (or the first), so statements sent together without waiting count once.
 */
function countedConnection(): { client: postgres.Sql; db: Db; flights: () => number } {
  const factory = noDelaySockets();
  let flights = 0;
  let answered = true;
  const client = postgres(databaseUrl!, {
    max: 1,
    onnotice: () => {},
    ...({
      socket: (target: Parameters<typeof factory>[0]) => {
        const socket: Socket = factory(target);
        socket.on("data", () => (answered = true));
        const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
        socket.write = (...args: unknown[]) => {
          if (answered) flights++;
          answered = false;
          return write(...args);
        };
        return socket;
      },
    } as object),
  });
  return { client, db: drizzle({ client, schema }), flights: () => flights };
}

/** A universe with a player's run in it, made through the store. */
async function universeWithRun(store: TurnStore) {
  const { player, universe, character } = await cast(store);
  const run = await store.createRun({
    id: freshId("run"),
    playerId: player.id,
    characterId: character.id,
    universeId: universe.id,
    therapeuticFocus: null,
  });
  return { universeId: universe.id, runId: run.id };
}

const turn = recordTurn;

const act = (universeId: string, runId: string) => (position: number) =>
  turn(universeId, position, { kind: "action", runId, input: { kind: "action" } });

// A commit's round trips are waits for the process's loop on a busy server: this pins how many
// an append makes. CI refuses to run without DATABASE_URL (scripts/test.mjs), so never skipped there.
describe.skipIf(!databaseUrl)("the round trips of an append on Postgres", () => {
  it("an append of a run's actions makes six: begin, the head with the runs' locks, COPY's two, the runs' writes, commit", async () => {
    // given a universe with a run, and a connection whose round trips are counted
    const store = await createTurnStore({ databaseUrl });
    const { client, db, flights } = countedConnection();
    try {
      const one = await universeWithRun(store);
      const two = await universeWithRun(store);
      await client`select 1`;
      // when three actions of the run are appended alone
      let before = flights();
      await appendTurns(db, "postgres", one.universeId, {
        expectedHead: 0,
        turns: [1, 2, 3].map(act(one.universeId, one.runId)),
      });
      // then they took six round trips, and the run counts them
      expect(flights() - before).toBe(6);
      expect(await store.getRun(one.runId)).toMatchObject({ turnCount: 3 });
      // when two universes' actions are appended in one group commit
      before = flights();
      const outcomes = await appendMany(db, "postgres", [
        {
          universeId: one.universeId,
          batch: { expectedHead: 3, turns: [4, 5].map(act(one.universeId, one.runId)) },
        },
        {
          universeId: two.universeId,
          batch: { expectedHead: 0, turns: [1].map(act(two.universeId, two.runId)) },
        },
      ]);
      // then both are written in six round trips too, each run counting its own
      expect(outcomes).toEqual([
        { ok: true, head: 5 },
        { ok: true, head: 1 },
      ]);
      expect(flights() - before).toBe(6);
      expect(await store.getRun(one.runId)).toMatchObject({ turnCount: 5 });
      expect(await store.getRun(two.runId)).toMatchObject({ turnCount: 1 });
    } finally {
      await client.end();
      await store.close();
    }
  });

  it("an undo of a turn before its batch reads that turn first, and the run's count still follows", async () => {
    // given a run with two actions persisted
    const store = await createTurnStore({ databaseUrl });
    const { client, db, flights } = countedConnection();
    try {
      const { universeId, runId } = await universeWithRun(store);
      await appendTurns(db, "postgres", universeId, {
        expectedHead: 0,
        turns: [1, 2].map(act(universeId, runId)),
      });
      // when a game master's undo of the second comes in a batch of its own
      const before = flights();
      await appendTurns(db, "postgres", universeId, {
        expectedHead: 2,
        turns: [
          turn(universeId, 3, { kind: "undo", actor: "gm", input: { kind: "undo", targetPosition: 2 } }),
        ],
        undone: [2],
      });
      // then the undone turn was read before the run was locked (more than six round trips),
      // and the run no longer counts it
      expect(flights() - before).toBeGreaterThan(6);
      expect(await store.getRun(runId)).toMatchObject({ turnCount: 1 });
    } finally {
      await client.end();
      await store.close();
    }
  });
});
