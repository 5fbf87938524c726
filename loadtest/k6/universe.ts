/**
 * k6 version of the Loom load test: per universe a GM (world events now and then) and
 * spectators, and characters acting open-loop at RATE actions/s each, all over the raw Colyseus
 * wire protocol. Measures act → own turn broadcast and act → ack, counts rejections by code, and
 * fails (thresholds) on any gap, duplicate or reordering a member sees.
 *
 *   k6 run --compatibility-mode=experimental_enhanced loadtest/k6/universe.ts
 *   k6 run -e LOOM_URL=http://127.0.0.1:2567 -e UNIVERSES=50 -e CHARACTERS=1000 -e RATE=1 -e DURATION=60 …
 */
import exec from "k6/execution";
import { Counter, Trend } from "k6/metrics";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import type { Options } from "k6/options";
import { createCharacter, createUniverse, registerPlayer, reserveSeat } from "./api.ts";
import type { Packable } from "./msgpack.ts";
import { joinAck, leaveFrame, parseFrame, Protocol, roomDataFrame, roomEndpoint } from "./wire.ts";

const BASE = (__ENV.LOOM_URL ?? "http://127.0.0.1:2567").replace(/\/$/, "");
const UNIVERSES = Number(__ENV.UNIVERSES ?? 5);
const CHARACTERS = Number(__ENV.CHARACTERS ?? 50);
const SPECTATORS = Number(__ENV.SPECTATORS ?? 2);
const RATE = Number(__ENV.RATE ?? 2);
const GM_RATE = Number(__ENV.GM_RATE ?? 0.2);
const DURATION_S = Number(__ENV.DURATION ?? 10);
/** Time for every member to join before anyone acts, and for answers to arrive afterwards. */
const JOIN_WINDOW_S = Number(__ENV.JOIN_WINDOW ?? 10);
const DRAIN_S = 3;

const actToTurn = new Trend("loom_act_to_turn", true);
const actToAck = new Trend("loom_act_to_ack", true);
const actsSent = new Counter("loom_acts_sent");
const actsAcked = new Counter("loom_acts_acked");
const actsRejected = new Counter("loom_acts_rejected");
const turnsReceived = new Counter("loom_turns_received");
const turnGaps = new Counter("loom_turn_gaps");
const turnDisorder = new Counter("loom_turn_duplicates_or_reordered");

const scenario = (vus: number) => ({
  executor: "per-vu-iterations" as const,
  vus: Math.max(1, vus),
  iterations: 1,
  maxDuration: `${JOIN_WINDOW_S + DURATION_S + DRAIN_S + 60}s`,
});

export const options: Options = {
  setupTimeout: "120s",
  scenarios: {
    gms: { ...scenario(UNIVERSES), exec: "gm" },
    spectators: { ...scenario(UNIVERSES * SPECTATORS), exec: "spectator" },
    characters: { ...scenario(CHARACTERS), exec: "character" },
  },
  thresholds: {
    loom_turn_gaps: ["count==0"],
    loom_turn_duplicates_or_reordered: ["count==0"],
    loom_act_to_turn: ["p(99)<1000"],
  },
};

interface Table {
  universes: { id: string; gmToken: string; gmId: string }[];
  /** Epoch ms at which everyone starts acting, so late joiners do not shorten the window. */
  startAt: number;
}

export function setup(): Table {
  const universes = [];
  for (let i = 0; i < UNIVERSES; i++) {
    const gm = registerPlayer(BASE, `GM ${i + 1}`);
    universes.push({
      id: createUniverse(BASE, gm.token, `k6 universe ${i + 1}`),
      gmToken: gm.token,
      gmId: gm.id,
    });
  }
  return { universes, startAt: Date.now() + JOIN_WINDOW_S * 1000 };
}

const SKILLS = ["Athletics", "Notice", "Fight", "Will", "Physique"];
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

function playerCommand(characterId: string): Packable {
  const roll = Math.random();
  if (roll < 0.45)
    return {
      kind: "action",
      action: "overcome",
      characterId,
      skill: pick(SKILLS),
      description: "vaults the flooded ditch",
    };
  if (roll < 0.65)
    return {
      kind: "action",
      action: "create_advantage",
      characterId,
      skill: pick(SKILLS),
      aspectName: pick(["High Ground", "Fog Cover", "A Friend at the Docks"]),
      description: "looks for an edge",
    };
  if (roll < 0.85)
    return {
      kind: "choice",
      characterId,
      text: pick(["takes the coast road", "waits for nightfall", "trusts the ferryman"]),
    };
  return { kind: "custom", characterId, text: "sketches the ruined lighthouse into the map" };
}

function gmCommand(count: number): Packable {
  if (count % 6 === 5)
    return {
      kind: "scene",
      title: `Scene ${Math.floor(count / 6) + 2}`,
      location: "The Salt Marches",
      summary: "The tide turns.",
    };
  return { kind: "world_event", text: "A storm rolls in off the grey sea.", major: false };
}

interface MemberPlan {
  universeId: string;
  token: string;
  playerId: string;
  join: { role: string; runId?: string };
  startAt: number;
  /** Commands per second; 0 for spectators. */
  rate: number;
  command: (count: number) => Packable;
}

/** One member's session: join over HTTP, then the WebSocket until the window and drain end. */
function play(plan: MemberPlan): void {
  const seat = reserveSeat(BASE, plan.token, plan.universeId, plan.join);
  const ws = new WebSocket(roomEndpoint(BASE, seat));
  ws.binaryType = "arraybuffer";
  const inFlight = new Map<number, { sentAt: number; turnSeen: boolean }>();
  let seq = Date.now() * 1000;
  let last = 0;
  let sent = 0;
  const stopAt = plan.startAt + DURATION_S * 1000;

  const send = (type: string, payload: Packable) => {
    const frame = roomDataFrame(type, payload);
    ws.send(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer);
  };
  const actLoop = () => {
    const interval = 1000 / plan.rate;
    const next = () => {
      const at = plan.startAt + (sent + Math.random()) * interval;
      if (at >= stopAt) return;
      setTimeout(
        () => {
          const mySeq = ++seq;
          inFlight.set(mySeq, { sentAt: Date.now(), turnSeen: false });
          send("act", { seq: mySeq, command: plan.command(sent) });
          actsSent.add(1);
          sent += 1;
          next();
        },
        Math.max(0, at - Date.now()),
      );
    };
    next();
  };

  ws.onmessage = (event) => {
    const frame = parseFrame(new Uint8Array(event!.data as ArrayBuffer));
    if (frame.code === Protocol.JOIN_ROOM) {
      ws.send(joinAck().buffer as ArrayBuffer);
      if (plan.rate > 0) actLoop();
      return;
    }
    if ((frame.code !== Protocol.ROOM_DATA && frame.code !== Protocol.ROOM_DATA_BYTES) || !("type" in frame))
      return;
    const message = frame.message as Record<string, Packable>;
    if (frame.type === "turn") {
      turnsReceived.add(1);
      const position = Number(message.position);
      if (last !== 0 && position !== last + 1) {
        if (position <= last) turnDisorder.add(1);
        else turnGaps.add(position - last - 1);
      }
      last = Math.max(last, position);
      const input = message.input as Record<string, Packable>;
      const entry =
        message.playerId === plan.playerId && typeof input.seq === "number"
          ? inFlight.get(input.seq)
          : undefined;
      if (entry && !entry.turnSeen) {
        entry.turnSeen = true;
        actToTurn.add(Date.now() - entry.sentAt);
      }
    } else if (frame.type === "ack") {
      const entry = inFlight.get(Number(message.seq));
      if (entry) {
        actToAck.add(Date.now() - entry.sentAt);
        actsAcked.add(1);
        inFlight.delete(Number(message.seq));
      }
    } else if (frame.type === "rejected") {
      actsRejected.add(1, { code: String(message.code) });
      if (message.seq !== null) inFlight.delete(Number(message.seq));
    }
  };
  ws.onerror = (event) => console.error(`websocket error: ${JSON.stringify(event)}`);
  setTimeout(
    () => {
      ws.send(leaveFrame().buffer as ArrayBuffer);
      ws.close();
    },
    Math.max(0, stopAt + DRAIN_S * 1000 - Date.now()),
  );
}

export function gm(table: Table): void {
  const index = exec.scenario.iterationInTest % UNIVERSES;
  const universe = table.universes[index]!;
  play({
    universeId: universe.id,
    token: universe.gmToken,
    playerId: universe.gmId,
    join: { role: "gm" },
    startAt: table.startAt,
    rate: GM_RATE,
    command: gmCommand,
  });
}

export function spectator(table: Table): void {
  const i = exec.scenario.iterationInTest;
  const player = registerPlayer(BASE, `Spectator ${i + 1}`);
  play({
    universeId: table.universes[i % UNIVERSES]!.id,
    token: player.token,
    playerId: player.id,
    join: { role: "spectator" },
    startAt: table.startAt,
    rate: 0,
    command: () => null,
  });
}

export function character(table: Table): void {
  const i = exec.scenario.iterationInTest;
  const universeId = table.universes[i % UNIVERSES]!.id;
  const player = registerPlayer(BASE, `Walker ${i + 1}`);
  const { characterId, runId } = createCharacter(BASE, player.token, universeId, `Walker ${i + 1}`);
  play({
    universeId,
    token: player.token,
    playerId: player.id,
    join: { role: "player", runId },
    startAt: table.startAt,
    rate: RATE,
    command: () => playerCommand(characterId),
  });
}
