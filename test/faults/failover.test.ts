import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type UniverseSession } from "../../client-sdk/src/index.ts";
import { spawnServer, testPort, waitFor, type ChildServer } from "../support/server.ts";
import { overcome, setTable } from "../support/players.ts";
import {
  startPostgres,
  startRedis,
  type PostgresInstance,
  type RedisInstance,
} from "../support/instances.ts";
import { wholeTimeline } from "../support/records.ts";
import { checkIntegrity, reportScenario, type Acked } from "./integrity.ts";
import { populateLoom } from "../../loadtest/src/loom-fleet.ts";
import { drive } from "../../loadtest/src/load.ts";
import { Recorder } from "../../loadtest/src/recorder.ts";
import { checkIntegrity as checkFleet } from "../../loadtest/src/integrity.ts";

// Finding 2 of the resilience review: when the process serving a universe dies, the SDK must
// rejoin through another process (once the dead owner's lease lapses), send again what was in
// flight with the same seq, and never drop a command silently.

let pg: PostgresInstance;
let redis: RedisInstance;
const children: ChildServer[] = [];
const LEASE_TTL_MS = 3_000;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(testPort(2741)), startRedis(testPort(2742))]);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop("SIGKILL")));
});
afterAll(async () => {
  await Promise.all([pg?.close(), redis?.close()]);
});

async function server(port: number): Promise<ChildServer> {
  const child = await spawnServer(
    {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      LOOM_LEASE_TTL_MS: String(LEASE_TTL_MS),
      LOOM_RECONNECT_SECONDS: "2",
    },
    port,
  );
  children.push(child);
  return child;
}

interface Player {
  name: string;
  session: UniverseSession;
  characterId: string;
}

/** Acts every `everyMs` until `stop()`; acks (with when they came) and refusals by code. */
function playSteadily(players: Player[], everyMs: number) {
  const acked: Array<Acked & { at: number }> = [];
  const errors: Record<string, number> = {};
  let running = true;
  const loops = players.map(async (player) => {
    while (running) {
      const result = await player.session.act(overcome(player.characterId, `${player.name} wades on`), {
        timeoutMs: 5_000,
      });
      if (result.ok) acked.push({ position: result.turn.position, id: result.turn.id, at: Date.now() });
      else errors[result.rejection.code] = (errors[result.rejection.code] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  });
  return {
    acked,
    errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe("faults: the process serving a universe is killed", () => {
  it("the SDK rejoins through the other process once the lease lapses, losing and repeating nothing", async () => {
    const a = await server(2751);
    const b = await server(2752);
    const table = await setTable(a.url, ["Alex", "Bea"]);
    const players: Player[] = [];
    const events: string[] = [];
    for (const player of table.players) {
      // the deployment's two processes; the session starts on the first
      const client = connect(a.url, { servers: [b.url] }).useToken(
        player.client.playerToken!,
        player.client.refreshToken,
      );
      const session = await client.joinUniverse(table.universeId, { role: "player", runId: player.runId });
      session.on("reconnecting", ({ code }) => events.push(`reconnecting ${code}`));
      session.on("reconnected", () => events.push("reconnected"));
      session.on("leave", (code) => events.push(`leave ${code}`));
      players.push({
        name: player.client === table.players[0]!.client ? "Alex" : "Bea",
        session,
        characterId: player.characterId,
      });
    }
    const play = playSteadily(players, 50);
    await waitFor(() => play.acked.length >= 10, 15_000, "steady play");
    // at a moment the test does not choose: commands are in flight
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 500)));
    const before = play.acked.length;
    await a.stop("SIGKILL");
    const killedAt = Date.now();
    await waitFor(() => play.acked.some((ack) => ack.at > killedAt), 30_000, "served again");
    const servedAgainMs = play.acked.find((ack) => ack.at > killedAt)!.at - killedAt;
    await waitFor(() => play.acked.length >= before + 10, 15_000, "steady play after the failover");
    await play.stop();

    const gm = connect(b.url).useToken(table.gm.playerToken!);
    const timeline = await wholeTimeline(gm, table.universeId);
    const integrity = checkIntegrity(play.acked, timeline);
    reportScenario(`kill -9 of the owner, SDK failover (lease ${LEASE_TTL_MS} ms)`, integrity, {
      servedAgainMs,
      errors: play.errors,
    });
    expect(integrity).toMatchObject({ lost: 0, duplicated: 0, gapless: true });
    // the target is the lease TTL + 2 s (the figure is printed above); the bound here leaves room
    // for a busy machine and still fails the SDK as it was, which kept retrying the dead process
    expect(servedAgainMs).toBeLessThanOrEqual(LEASE_TTL_MS + 5_000);
    // every command was answered: the ones in flight at the kill were sent again, not dropped
    expect(play.errors).toEqual({});
    expect(events.filter((e) => e.startsWith("leave"))).toEqual([]);
    expect(events.filter((e) => e === "reconnected")).toHaveLength(2);
    for (const player of players) {
      expect(player.session.room.roomId).toBe(table.universeId);
      await player.session.leave();
    }
  });
  it("under the load generator: every universe is served again by the other process, nothing lost or repeated", async () => {
    const a = await server(2753);
    const b = await server(2754);
    const fleet = await populateLoom(a.url, { universes: 3, characters: 12, spectatorsPerUniverse: 1 }, [
      b.url,
    ]);
    const recorder = new Recorder(2);
    const driving = drive(fleet, recorder, {
      ratePerCharacter: 2,
      gmRate: 0.2,
      durationMs: 20_000,
      jitter: 0.3,
      random: Math.random,
    });
    // at a moment the test does not choose, 3–5 s into the load
    await new Promise((resolve) => setTimeout(resolve, 3_000 + Math.floor(Math.random() * 2_000)));
    const ackedBefore = recorder.acked;
    await a.stop("SIGKILL");
    const killedAt = Date.now();
    await waitFor(() => recorder.acked > ackedBefore, 30_000, "an ack from the other process");
    const servedAgainMs = Date.now() - killedAt;
    await driving;
    await waitFor(() => fleet.members.every((member) => member.pending === 0), 30_000, "every answer");
    const integrity = await checkFleet(fleet);
    const report = recorder.report();
    console.log(
      `fault scenario "kill -9 of the owner under the load generator (${fleet.universes.length} universes, ${fleet.players.length} characters at 2 actions/s)": ` +
        `acknowledged ${integrity.ackedTurns}, sent ${report.sent}, unanswered ${report.unanswered}, ` +
        `gaps ${integrity.timeline.gaps}, duplicated ${integrity.timeline.duplicatePositions + integrity.timeline.duplicateIds}, ` +
        `served again after ${servedAgainMs} ms, client errors ${JSON.stringify(report.rejected)}`,
    );
    expect(integrity, JSON.stringify(integrity)).toMatchObject({ ok: true });
    expect(report.unanswered).toBe(0);
    expect(report.rejected).toEqual({});
    expect(fleet.dropped()).toEqual({});
    await fleet.leave();
  });
});
