import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@colyseus/sdk";
import {
  connect,
  type ActResult,
  type LoomClient,
  type Recap,
  type Turn,
  type UniverseSession,
} from "../client-sdk/src/index.ts";
import { modes, startServer, tempDir, waitFor, type Mode } from "./support/server.ts";
import { sheet } from "./support/players.ts";
import { recordsSettle, wholeTimeline } from "./support/records.ts";
import type { LoomServer } from "../server/src/app.ts";
import { DrizzleTurnStore } from "../server/src/persist/drizzle-turn-store.ts";
import type { TurnStore } from "../server/src/persist/turn-store.ts";

/**
 * Loom played the way a table plays it over a campaign: three players and a game master, evenings
 * of a few acts each, a player leaving the moment they have acted, a second tab of the same login,
 * a connection lost in the middle of a scene, the server restarted between evenings, the game
 * master undoing and retconning between sessions. What is checked is what a player would notice:
 * the "Last time on…" recap, the run's counts, the progression, and each turn's prose.
 */

const NAMES = ["Alex", "Bea", "Cole"] as const;
type Name = (typeof NAMES)[number];
/** Words only their owner (a player's private notes) or the game master (GM notes, a hidden roll) may read. */
const PRIVATE: Record<Name, string> = {
  Alex: "alexquillsecret",
  Bea: "beaheronsecret",
  Cole: "colesaltsecret",
};
const GM_ONLY = "gmlanternsecret";
const HIDDEN_ROLL = "hiddenmoonwake";
const BOOKKEEPING = new Set(["session_start", "session_end", "undo", "retcon"]);
const PLAYED = new Set(["action", "choice", "custom", "combat"]);

interface Seat {
  name: Name;
  client: LoomClient;
  playerId: string;
  characterId: string;
  runId: string;
}

interface Campaign {
  gm: LoomClient;
  universeId: string;
  seats: Record<Name, Seat>;
}

async function setUp(url: string): Promise<Campaign> {
  const gm = connect(url);
  await gm.registerPlayer("Game Master");
  const universe = await gm.createUniverse({ name: "The Salt Marches", premise: "A drowned coast" });
  // their Legendary Notice makes advantages certain: over Fate Core's limits, so the GM allows it
  await gm.setCharacterLimits(universe.id, { skillCap: 8 });
  const invite = await gm.createInvite(universe.id);
  const seats = {} as Record<Name, Seat>;
  for (const name of NAMES) {
    const client = connect(url);
    const { player } = await client.registerPlayer(name);
    await client.acceptInvite(invite.code);
    const { character, run } = await client.createCharacter(
      universe.id,
      sheet(name, {
        notes: `${name} keeps a diary: ${PRIVATE[name]}`,
        skills: { ...sheet(name).skills, Notice: 8 },
      }),
    );
    seats[name] = { name, client, playerId: player.id, characterId: character.id, runId: run.id };
  }
  return { gm, universeId: universe.id, seats };
}

/** A second tab of the same login: another client holding the same tokens. */
function tabOf(seat: Seat, url: string): LoomClient {
  return connect(url).useToken(seat.client.playerToken!, seat.client.refreshToken);
}

function sitDown(client: LoomClient, campaign: Campaign, seat: Seat): Promise<UniverseSession> {
  return client.joinUniverse(campaign.universeId, { role: "player", runId: seat.runId });
}

/**
 * The recap a player's session began with. It may come a moment after the join resolves (the room
 * sends it behind the first state), so this waits for it as the web client does, with `on`.
 */
function recapOf(session: UniverseSession): Promise<Recap> {
  if (session.lastRecap) return Promise.resolve(session.lastRecap);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no recap within 10 s of joining")), 10_000);
    const stop = session.on("recap", (recap) => {
      clearTimeout(timer);
      stop();
      resolve(recap);
    });
  });
}

/**
 * Most likely a success with style that leaves a named aspect, a major turn the others hear of: at
 * Legendary (+8) against Fair (+2) all but the worst roll (1 in 81) succeed with style. What the
 * recaps are held to is read from the timeline, whichever it was.
 */
function feat(seat: Seat, label: string) {
  return {
    kind: "action" as const,
    action: "create_advantage" as const,
    characterId: seat.characterId,
    skill: "Notice",
    aspectName: `${seat.name} ${label}`,
    description: `${seat.name} ${label}`,
  };
}

/** A move of their own: part of the player's story, not news for the others. */
function move(seat: Seat, label: string) {
  return { kind: "custom" as const, characterId: seat.characterId, text: `${seat.name} ${label}` };
}

function ok(result: ActResult): Turn {
  if (!result.ok) throw new Error(`refused: ${result.rejection.code} ${result.rejection.message}`);
  return result.turn;
}

/** Acts, and checks that the turn answered is the one asked for (a retry's answer is the first one's). */
async function acted(
  session: UniverseSession,
  command: Parameters<UniverseSession["act"]>[0],
): Promise<Turn> {
  const turn = ok(await session.act(command));
  const words = (value: object) => {
    const { text, description } = value as { text?: unknown; description?: unknown };
    return text ?? description;
  };
  expect.soft(words(turn.input), `the turn answered for "${String(words(command))}"`).toBe(words(command));
  return turn;
}

/** Drops the session's socket; resolves once the SDK has its seat back. */
function drop(session: UniverseSession): Promise<void> {
  const back = new Promise<void>((resolve) => {
    const stop = session.on("reconnected", () => {
      stop();
      resolve();
    });
  });
  const seat = (session as unknown as { current: Room }).current;
  (seat.connection.transport as unknown as { ws: { _socket?: { destroy(): void } } }).ws._socket!.destroy();
  return back;
}

/** Leaves, and waits until the session's end is acknowledged (on the timeline), not until it is written. */
async function leaveAndSeeEnd(campaign: Campaign, session: UniverseSession, seat: Seat): Promise<number> {
  const before = (await campaign.gm.history(campaign.universeId, { order: "desc", limit: 1 })).turns[0];
  await session.leave();
  let end = 0;
  await waitFor(
    async () => {
      const { turns } = await campaign.gm.history(campaign.universeId, { order: "desc", limit: 50 });
      end =
        turns.find(
          (turn) =>
            turn.kind === "session_end" &&
            turn.runId === seat.runId &&
            turn.position > (before?.position ?? 0),
        )?.position ?? 0;
      return end > 0;
    },
    10_000,
    `${seat.name}'s session end`,
  );
  return end;
}

/**
 * Holds the turn store's calls of one method that `holds` picks, each until released: it puts the
 * server between two steps a player cannot time by hand. Installed on the store's class before
 * the server starts (the store is wrapped then), for a server whose store runs in-process.
 */
class StoreGate<K extends "appendMany" | "timeline"> {
  private readonly waiting: Array<() => void> = [];
  private holds: ((...args: Parameters<TurnStore[K]>) => boolean) | null = null;

  constructor(private readonly name: K) {}

  install(): () => void {
    const methods = DrizzleTurnStore.prototype as unknown as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >;
    const original = methods[this.name]!;
    const gate = this as StoreGate<K>;
    methods[this.name] = async function (this: unknown, ...args: unknown[]) {
      if (gate.holds?.(...(args as Parameters<TurnStore[K]>)))
        await new Promise<void>((resolve) => gate.waiting.push(resolve));
      return original.apply(this, args);
    };
    return () => {
      methods[this.name] = original;
    };
  }

  hold(holds: (...args: Parameters<TurnStore[K]>) => boolean): void {
    this.holds = holds;
  }

  held(): number {
    return this.waiting.length;
  }

  releaseOne(): void {
    this.waiting.shift()?.();
  }

  open(): void {
    this.holds = null;
    for (const release of this.waiting.splice(0)) release();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isAwayNews(turn: Turn, characterId: string): boolean {
  return (
    turn.status === "applied" &&
    !BOOKKEEPING.has(turn.kind) &&
    turn.characterId !== characterId &&
    turn.resolution?.hidden !== true &&
    turn.events.every((event) => !event.hidden) &&
    turn.events.some((event) => event.major)
  );
}

function isStory(turn: Turn): boolean {
  return turn.status === "applied" && !BOOKKEEPING.has(turn.kind);
}

function playedTurns(timeline: readonly Turn[], runId: string): number {
  return timeline.filter((turn) => turn.runId === runId && PLAYED.has(turn.kind) && turn.status === "applied")
    .length;
}

/**
 * A recap against the timeline as the game master reads it: the window starts where this run's
 * previous session ended (its character's, for a run's first session), its last turns are the run's, the news is the others' major turns
 * since, the retcons are those since, and nothing private to anyone else is in it.
 */
function expectRecapFollowsTimeline(recap: Recap, seat: Seat, timeline: readonly Turn[], what: string): void {
  const upTo = timeline.filter((turn) => turn.position <= recap.head);
  const ends = upTo.filter((turn) => turn.kind === "session_end" && turn.runId === seat.runId);
  // a run that has not ended a session yet goes on from its character's last one, in any run
  const characterEnds = upTo.filter(
    (turn) => turn.kind === "session_end" && turn.characterId === seat.characterId,
  );
  const previousEnd = (ends.length > 0 ? ends : characterEnds).at(-1)?.position ?? null;
  expect.soft(recap.previousSessionEnd, `${what}: where the window starts`).toBe(previousEnd);
  const mine = upTo.filter((turn) => turn.runId === seat.runId && isStory(turn)).slice(-10);
  expect
    .soft(
      recap.lastTurns.map((turn) => turn.position),
      `${what}: the run's last turns`,
    )
    .toEqual(mine.map((turn) => turn.position));
  const since = upTo.filter((turn) => turn.position > (previousEnd ?? 0));
  const news = since.filter((turn) => isAwayNews(turn, seat.characterId)).slice(-20);
  // and the others' sessions since, each told by its summary (a glance at the table has none)
  const sessions = since
    .filter(
      (turn) =>
        turn.kind === "session_end" &&
        turn.characterId !== seat.characterId &&
        typeof turn.input.summary === "string" &&
        turn.input.summary.trim() !== "",
    )
    .slice(-5);
  expect
    .soft(
      recap.whileYouWereAway.map((turn) => turn.position),
      `${what}: while you were away`,
    )
    .toEqual([...news, ...sessions].map((turn) => turn.position).sort((a, b) => a - b));
  for (const end of sessions)
    expect
      .soft(
        recap.whileYouWereAway.find((turn) => turn.position === end.position)?.text,
        `${what}: the session ending at ${end.position}`,
      )
      .toMatch(/^\S.* played \d+ turns? \(/);
  const retcons = since.filter((turn) => turn.kind === "retcon" && turn.status === "applied");
  expect
    .soft(
      recap.retcons.map((retcon) => retcon.position),
      `${what}: retcons`,
    )
    .toEqual(retcons.map((turn) => turn.position));
  const text = JSON.stringify(recap);
  for (const name of NAMES)
    if (name !== seat.name)
      expect.soft(text, `${what}: ${name}'s private notes`).not.toContain(PRIVATE[name]);
  expect.soft(text, `${what}: the game master's notes`).not.toContain(GM_ONLY);
  expect.soft(text, `${what}: a hidden roll`).not.toContain(HIDDEN_ROLL);
}

/** The summary a recap opens with is this character's own last session, as its session end told it. */
function expectOwnSummary(recap: Recap, seat: Seat, timeline: readonly Turn[], what: string): void {
  const summaryOf = (turn: Turn | undefined) =>
    typeof turn?.input.summary === "string" ? turn.input.summary : "";
  // the run's last session in which the character played: a glance's summary is empty
  const end = timeline.findLast(
    (turn) =>
      turn.kind === "session_end" &&
      turn.runId === seat.runId &&
      turn.position <= recap.head &&
      summaryOf(turn) !== "",
  );
  const told = summaryOf(end);
  expect
    .soft(told, `${what}: ${seat.name}'s session end sums up ${seat.name}`)
    .toMatch(new RegExp(`^${seat.name} played`));
  const start = timeline.findLast(
    (turn) =>
      turn.kind === "session_start" && turn.runId === seat.runId && turn.position < (end?.position ?? 0),
  );
  const undone = timeline.some(
    (turn) =>
      turn.runId === seat.runId &&
      turn.status === "undone" &&
      turn.position > (start?.position ?? 0) &&
      turn.position < (end?.position ?? 0),
  );
  // a turn of that session undone since is no longer told: the session is summed up again
  if (undone) {
    expect.soft(recap.recentSummary, `${what}: ${seat.name}'s last session as it stands`).not.toBe(told);
    expect.soft(recap.recentSummary).toMatch(new RegExp(`^${seat.name} played`));
  } else {
    expect.soft(recap.recentSummary, `${what}: the summary of ${seat.name}'s last session`).toBe(told);
  }
}

/** The fields `expected` names, compared as a whole (a failure shows each one's value). */
function expectFields(actual: unknown, what: string, expected: Record<string, unknown>): void {
  const record = (actual ?? {}) as Record<string, unknown>;
  const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
  expect.soft(picked, what).toEqual(expected);
}

/** The run's record once the turns so far are persisted: played turns that stand, sessions. */
async function expectRunCounts(
  seat: Seat,
  runId: string,
  counts: { turnCount: number; sessionCount: number; state?: string },
  what: string,
): Promise<void> {
  let last: unknown = null;
  await waitFor(
    async () => {
      last = await seat.client.run(runId);
      const run = last as { turnCount: number; sessionCount: number; state: string };
      return (
        run.turnCount === counts.turnCount &&
        run.sessionCount === counts.sessionCount &&
        (counts.state === undefined || run.state === counts.state)
      );
    },
    5_000,
    what,
  ).catch(() => undefined);
  expectFields(last, what, counts);
}

/**
 * Each turn's prose as recorded, read every way a member reads it: the timeline, the turn alone,
 * a jump, and a player's jump (a hidden roll's without prose).
 */
async function expectProseAsHeard(
  campaign: Campaign,
  heard: ReadonlyMap<number, string>,
  reader: Seat,
  what: string,
): Promise<void> {
  const { gm, universeId } = campaign;
  const recorded = new Map((await wholeTimeline(gm, universeId)).map((turn) => [turn.position, turn]));
  for (const [position, text] of heard)
    expect
      .soft(recorded.get(position)?.narration?.text, `${what}: turn ${position} in the timeline`)
      .toBe(text);
  for (const [position, text] of heard) {
    if (position % 3 !== 0) continue;
    const single = await gm.turn(universeId, position);
    expect.soft(single.narration?.text, `${what}: turn ${position} read alone`).toBe(text);
    const jumped = await gm.jump(universeId, position);
    expect.soft(jumped.turn?.narration?.text, `${what}: a jump to ${position}`).toBe(text);
    const seen = await reader.client.jump(universeId, position);
    const hidden = seen.turn?.input.hidden === true;
    expect
      .soft(seen.turn?.narration?.text ?? null, `${what}: ${reader.name}'s jump to ${position}`)
      .toBe(hidden ? null : text);
  }
}

interface Table {
  session: UniverseSession;
  /** Each turn's prose as members heard it live: inside the turn, or as its telling ended. */
  heard: Map<number, string>;
}

/** The game master at the table, listening to every turn's prose. */
async function gmAtTable(campaign: Campaign, heard = new Map<number, string>()): Promise<Table> {
  const session = await campaign.gm.joinUniverse(campaign.universeId, { role: "gm" });
  const hear = (position: number, text: string | undefined) => {
    if (text === undefined) return;
    const before = heard.get(position);
    expect.soft(before ?? text, `turn ${position}'s prose heard twice, differently`).toBe(text);
    heard.set(position, text);
  };
  session.on("turn", (turn) => hear(turn.position, turn.narration?.text));
  session.on("narration", (message) => {
    if (message.done) hear(message.position, message.text ?? session.narrationSoFar(message.position)?.text);
  });
  return { session, heard };
}

/** What a player heard of their own turn, against what the table heard. */
function expectHeardAlike(table: Table, turns: readonly Turn[], what: string): void {
  for (const turn of turns)
    expect
      .soft(turn.narration?.text, `${what}: turn ${turn.position}'s prose`)
      .toBe(table.heard.get(turn.position));
}

type Server = LoomServer & { url: string };

async function restart(mode: Mode, server: Server, dataDir: string, port: number): Promise<Server> {
  await server.shutdown();
  return startServer(mode, { port, dataDir, inMemory: false });
}

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`people play a campaign (${mode.name})`, () => {
    let server: Server;
    const dataDir = tempDir("loom-people-");
    beforeAll(async () => {
      server = await startServer(mode, { port: 2617, dataDir, inMemory: false });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("three players and a game master over several evenings: recaps, runs, progression and prose follow the timeline", async () => {
      const campaign = await setUp(server.url);
      const { gm, universeId, seats } = campaign;
      const { Alex: alex, Bea: bea, Cole: cole } = seats;
      let table = await gmAtTable(campaign);
      await acted(table.session, {
        kind: "npc",
        op: "add",
        name: "Old Harrow",
        notes: "keeps the ferry",
        gmNotes: `smuggles for the guild ${GM_ONLY}`,
      });

      // Evening 1. Alex leaves the moment his last act is acknowledged; Bea plays from two tabs
      // at once; Alex comes back and his connection drops while Cole is mid-action.
      let alexSession = await sitDown(alex.client, campaign, alex);
      const alexTurns = [
        await acted(alexSession, feat(alex, "spots the drowned bell")),
        await acted(alexSession, move(alex, "wades to the tower")),
      ];
      void alexSession.leave();
      const [beaTab1, beaTab2] = await Promise.all([
        sitDown(bea.client, campaign, bea),
        sitDown(tabOf(bea, server.url), campaign, bea),
      ]);
      const beaTurns = await Promise.all([
        acted(beaTab1, feat(bea, "reads the tide tables")),
        acted(beaTab2, move(bea, "hums an old shanty")),
      ]);
      beaTurns.push(await acted(beaTab2, feat(bea, "finds the guild seal")));
      void beaTab1.leave();
      void beaTab2.leave();
      let coleSession = await sitDown(cole.client, campaign, cole);
      alexSession = await sitDown(alex.client, campaign, alex);
      const coleActing = acted(coleSession, feat(cole, "lights the beacon"));
      const alexBack = drop(alexSession);
      const alexHeld = acted(alexSession, move(alex, "shouts across the water"));
      const coleTurns = [await coleActing];
      await alexBack;
      alexTurns.push(await alexHeld, await acted(alexSession, feat(alex, "rings the drowned bell")));
      const gulls = await acted(coleSession, move(cole, "counts the gulls"));
      coleTurns.push(gulls);
      void alexSession.leave();
      void coleSession.leave();
      // the game master rolls in secret for Cole's character
      await acted(table.session, {
        kind: "action",
        action: "overcome",
        characterId: cole.characterId,
        skill: "Notice",
        opposition: 0,
        description: `senses the ${HIDDEN_ROLL}`,
        hidden: true,
      });
      expectHeardAlike(table, [...alexTurns, ...beaTurns, ...coleTurns], "evening 1");
      await table.session.leave();

      // Between evenings the server restarts, and the game master undoes Cole's last move.
      server = await restart(mode, server, dataDir, 2617);
      table = await gmAtTable(campaign, table.heard);
      await gm.undo(universeId, gulls.position);

      // Evening 2. Bea comes back first: her recap tells the others' evening, and her own.
      const beaSession = await sitDown(bea.client, campaign, bea);
      const beaRecap = await recapOf(beaSession);
      let timeline = await wholeTimeline(gm, universeId);
      expectRecapFollowsTimeline(beaRecap, bea, timeline, "Bea, evening 2");
      expectOwnSummary(beaRecap, bea, timeline, "Bea, evening 2");
      const bargain = await acted(beaSession, feat(bea, "bargains with Old Harrow"));
      await leaveAndSeeEnd(campaign, beaSession, bea);

      // The game master undoes Bea's bargain and retcons, between sessions.
      expect((await gm.undo(universeId, bargain.position)).kind).toBe("undo");
      const retcon = await gm.retcon(universeId, "The bell tower always leaned east");

      // Alex comes back from two tabs; one leaves right after acting, the other plays on.
      const [alexTab1, alexTab2] = await Promise.all([
        sitDown(alex.client, campaign, alex),
        sitDown(tabOf(alex, server.url), campaign, alex),
      ]);
      timeline = await wholeTimeline(gm, universeId);
      // the tab that opened the session has the recap; the other joined it open, and has none
      const opened = [alexTab1, alexTab2].filter((tab) => tab.lastRecap !== null);
      expect(opened, "one recap for the two tabs").toHaveLength(1);
      for (const [i, tab] of opened.entries()) {
        const recap = await recapOf(tab);
        expectRecapFollowsTimeline(recap, alex, timeline, `Alex, evening 2, tab ${i + 1}`);
        expectOwnSummary(recap, alex, timeline, `Alex, evening 2, tab ${i + 1}`);
        expect
          .soft(
            recap.retcons.map((r) => r.position),
            "Alex hears of the retcon",
          )
          .toEqual([retcon.position]);
        expect
          .soft(
            recap.whileYouWereAway.map((t) => t.position),
            "Bea's undone bargain",
          )
          .not.toContain(bargain.position);
      }
      alexTurns.push(await acted(alexTab1, move(alex, "climbs the leaning tower")));
      void alexTab1.leave();
      alexTurns.push(await acted(alexTab2, feat(alex, "frees the bell rope")));
      await leaveAndSeeEnd(campaign, alexTab2, alex);

      // Alex completes his run from both tabs at once: it is credited once.
      const completions = await Promise.allSettled([
        alex.client.completeRun(alex.runId, "retired"),
        tabOf(alex, server.url).completeRun(alex.runId, "retired"),
      ]);
      const completed = completions.flatMap((c) => (c.status === "fulfilled" ? [c.value] : []));
      expect.soft(completed, "one of two completions goes through").toHaveLength(1);
      expectFields(completed[0]?.run, "Alex's completed run", {
        state: "completed",
        turnCount: alexTurns.length,
        sessionCount: 3,
      });
      expect.soft(completed[0]?.credited, "Alex's run credits").toBe(true);
      expectFields(await alex.client.progression(), "Alex's progression", {
        runsCompleted: 1,
        turnsInCompletedRuns: alexTurns.length,
        completedRunIds: [alex.runId],
      });

      // Bea abandons hers, credited nothing, and starts the same character again, clean.
      await expectRunCounts(
        bea,
        bea.runId,
        { turnCount: beaTurns.length, sessionCount: 2 },
        "Bea's run: two sessions (not three tabs), the undone bargain not counted",
      );
      await bea.client.abandonRun(bea.runId);
      expectFields(await bea.client.progression(), "Bea's progression after abandoning", {
        runsCompleted: 0,
        turnsInCompletedRuns: 0,
        completedRunIds: [],
      });
      const beaRun2 = await bea.client.startRun(universeId, bea.characterId);
      expectFields(beaRun2, "Bea's second run", { turnCount: 0, sessionCount: 0, state: "active" });
      const bea2: Seat = { ...bea, runId: beaRun2.id };
      const bea2Session = await sitDown(bea.client, campaign, bea2);
      const bea2Recap = await recapOf(bea2Session);
      timeline = await wholeTimeline(gm, universeId);
      expect.soft(bea2Recap.lastTurns, "a second run's recap has none of the first's turns").toEqual([]);
      expectRecapFollowsTimeline(bea2Recap, bea2, timeline, "Bea's second run");
      await acted(bea2Session, move(bea, "starts over at the ferry"));
      void bea2Session.leave();

      // Cole comes back after all of it, past another restart.
      await table.session.leave();
      server = await restart(mode, server, dataDir, 2617);
      table = await gmAtTable(campaign, table.heard);
      coleSession = await sitDown(cole.client, campaign, cole);
      const coleRecap = await recapOf(coleSession);
      timeline = await wholeTimeline(gm, universeId);
      expectRecapFollowsTimeline(coleRecap, cole, timeline, "Cole, evening 2");
      expectOwnSummary(coleRecap, cole, timeline, "Cole, evening 2");
      expect
        .soft(
          coleRecap.whileYouWereAway.some(
            (t) => t.characterId === alex.characterId && /completes/.test(t.text),
          ),
          "Cole hears Alex completed his story",
        )
        .toBe(true);
      expect
        .soft(
          coleRecap.lastTurns.map((t) => t.position),
          "Cole's undone move",
        )
        .not.toContain(gulls.position);
      await acted(coleSession, move(cole, "follows the ferry lights"));
      await leaveAndSeeEnd(campaign, coleSession, cole);
      timeline = await wholeTimeline(gm, universeId);
      for (const seat of [cole, bea2]) {
        const overHttp = await seat.client.recap(seat.runId);
        expectRecapFollowsTimeline(overHttp, seat, timeline, `${seat.name}'s recap over HTTP`);
      }
      await expectRunCounts(cole, cole.runId, { turnCount: 2, sessionCount: 2 }, "Cole's run");
      await expectRunCounts(bea2, bea2.runId, { turnCount: 1, sessionCount: 1 }, "Bea's second run");

      // The game master takes Alex's completion back; Alex plays on, leaves without waiting for
      // his last act, and completes again: credited once, with every turn.
      const ending = timeline.findLast(
        (turn) =>
          turn.input.kind === "run_end" && turn.input.runId === alex.runId && turn.status === "applied",
      );
      expect(ending?.input.outcome).toBe("completed");
      await gm.undo(universeId, ending!.position);
      await waitFor(
        async () => (await alex.client.run(alex.runId)).state === "active",
        5_000,
        "Alex's run reopened",
      );
      expectFields(await alex.client.progression(), "Alex's progression once his completion is undone", {
        runsCompleted: 0,
        turnsInCompletedRuns: 0,
        completedRunIds: [],
      });
      alexSession = await sitDown(alex.client, campaign, alex);
      timeline = await wholeTimeline(gm, universeId);
      expectRecapFollowsTimeline(await recapOf(alexSession), alex, timeline, "Alex, evening 3");
      alexTurns.push(await acted(alexSession, feat(alex, "tolls the bell at dawn")));
      const unwaited = alexSession.act(move(alex, "walks off into the marsh"));
      await leaveAndSeeEnd(campaign, alexSession, alex);
      await unwaited;
      timeline = await wholeTimeline(gm, universeId);
      const walked = timeline.findLast((turn) => turn.runId === alex.runId && turn.kind === "custom");
      expect.soft(walked?.input.text, "the act Alex did not wait for").toBe("Alex walks off into the marsh");
      const redone = await alex.client.completeRun(alex.runId, "victory");
      expectFields(redone.run, "Alex's run completed again", {
        turnCount: alexTurns.length + 1,
        sessionCount: 4,
      });
      expectFields(await alex.client.progression(), "Alex's progression at the end", {
        runsCompleted: 1,
        turnsInCompletedRuns: alexTurns.length + 1,
        completedRunIds: [alex.runId],
      });
      await recordsSettle(gm, alex.client, universeId, [alex.runId]);
      await recordsSettle(gm, bea.client, universeId, [bea.runId, bea2.runId]);
      await recordsSettle(gm, cole.client, universeId, [cole.runId]);

      // Prose: as heard live, read back now, after an undo of a later turn, and after a restart.
      await waitFor(
        async () => (await wholeTimeline(gm, universeId)).every((turn) => turn.narration !== null),
        10_000,
        "every turn told",
      );
      const heard = table.heard;
      expect.soft(heard.size, "turns heard live").toBeGreaterThan(30);
      await expectProseAsHeard(campaign, heard, cole, "prose read back");
      const tide = await acted(table.session, {
        kind: "world_event",
        text: "The tide goes out",
        major: true,
      });
      await gm.undo(universeId, tide.position);
      await expectProseAsHeard(campaign, heard, cole, "prose after an undo of a later turn");
      await table.session.leave();
      server = await restart(mode, server, dataDir, 2617);
      await expectProseAsHeard(campaign, heard, cole, "prose after a restart");
    }, 240_000);
  });

  describe.skipIf(!mode.available)(`people play, one thing at a time (${mode.name})`, () => {
    let server: Server;
    beforeAll(async () => {
      server = await startServer(mode, { port: 2618 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a returning player's recap, and the prose opening their session, tell their own last session", async () => {
      const campaign = await setUp(server.url);
      const { Alex: alex, Bea: bea } = campaign.seats;
      const alexFirst = await sitDown(alex.client, campaign, alex);
      const arrival = alexFirst.turns.findLast(
        (turn) => turn.kind === "session_start" && turn.characterId === alex.characterId,
      );
      // a run's first session brings its character into the story; a later one back to it
      expect
        .soft(arrival?.narration?.text, "the prose of Alex's first session")
        .toMatch(/steps into the tale|comes into the story/);
      await acted(alexFirst, feat(alex, "spots the drowned bell"));
      await acted(alexFirst, move(alex, "wades to the tower"));
      await leaveAndSeeEnd(campaign, alexFirst, alex);
      // Bea plays after Alex left: hers is the last session anyone ended
      const beaFirst = await sitDown(bea.client, campaign, bea);
      await acted(beaFirst, move(bea, "hums an old shanty"));
      await leaveAndSeeEnd(campaign, beaFirst, bea);

      const alexBack = await sitDown(alex.client, campaign, alex);
      const recap = await recapOf(alexBack);
      const told = "Alex played 2 turns (1 action, 1 move of their own).";
      expect.soft(recap.recentSummary, "the summary Alex's recap opens with").toContain(told);
      expect.soft(recap.recentSummary, "the summary Alex's recap opens with").not.toContain("Bea played");
      // Bea's evening is in it as what the others did meanwhile
      expect
        .soft(
          recap.whileYouWereAway.map((turn) => turn.text),
          "Alex's recap of the others",
        )
        .toContainEqual(expect.stringMatching(/^Bea played 1 turn/));
      const opening = alexBack.turns.findLast(
        (turn) => turn.kind === "session_start" && turn.characterId === alex.characterId,
      );
      expect.soft(opening?.narration?.text, "the prose opening Alex's session").toContain(told);
      expect.soft(opening?.narration?.text, "the prose opening Alex's session").not.toContain("Bea played");
      expect
        .soft(opening?.narration?.text, "the prose opening Alex's session")
        .toMatch(/returns to the table|takes up the tale again/);
      // what the others did meanwhile travels with the opening, for a model to tell: Bea came in
      expect.soft(recap.whileYouWereAway.length, "Alex's recap of the others").toBeGreaterThan(0);
      const meanwhile = opening?.input.meanwhile as string[] | undefined;
      expect
        .soft(meanwhile?.length, "the opening's lines of the others")
        .toBe(Math.min(5, recap.whileYouWereAway.length));
      expect
        .soft(meanwhile?.join("\n"), "the opening's lines of the others")
        .toMatch(/Bea[^\n]*enters the story/);
      await alexBack.leave();
    });

    it("two tabs whose sessions began in the same millisecond each get their own act applied", async () => {
      // a session numbers its messages from the clock (Date.now() × 1000, then one by one), so two
      // tabs of one login opened in the same millisecond send the same numbers: here, explicitly
      const campaign = await setUp(server.url);
      const { Alex: alex } = campaign.seats;
      const [tab1, tab2] = await Promise.all([
        sitDown(alex.client, campaign, alex),
        sitDown(tabOf(alex, server.url), campaign, alex),
      ]);
      const answers: string[] = [];
      const send = async (tab: UniverseSession, text: string, seq: number) => {
        const result = await tab.act(move(alex, text), { seq });
        answers.push(
          `${text} → ${result.ok ? `turn ${result.turn.position}: ${String(result.turn.input.text)}` : result.rejection.code}`,
        );
      };
      // at the same time, and one after the other
      const first = tab1.nextSeq();
      await Promise.all([send(tab1, "lights a lamp", first), send(tab2, "opens the shutters", first)]);
      const second = tab1.nextSeq();
      await send(tab1, "sweeps the floor", second);
      await send(tab2, "lays the table", second);
      // a tab opened later numbers from a later clock: its many acts leave the first tab's next
      // number below every one of its own, which is no reason to refuse it as stale
      for (let i = 0; i < 70; i++) await send(tab2, `stacks plate ${i}`, second + 1_000_000 + i);
      await send(tab1, "blows out the lamp", tab1.nextSeq());
      expect(answers.at(-1)).toMatch(/→ turn \d+: Alex blows out the lamp$/);
      await Promise.all([tab1.leave(), tab2.leave()]);
      // each answer is the tab's own act, or a coded refusal it can act on: never another's turn
      for (const answer of answers) {
        const [sent, got] = answer.split(" → ") as [string, string];
        expect.soft(got.endsWith(`Alex ${sent}`) || !got.startsWith("turn "), answer).toBe(true);
      }
      const timeline = await wholeTimeline(campaign.gm, campaign.universeId);
      const applied = timeline.filter((turn) => turn.kind === "custom").map((turn) => turn.input.text);
      for (const answer of answers.filter((each) => each.includes(": ")))
        expect.soft(applied, answer).toContain(answer.split(": ")[1]);
    });

    it("a player who leaves without waiting for their last act finds it counted and summed up", async () => {
      const campaign = await setUp(server.url);
      const { Alex: alex } = campaign.seats;
      const session = await sitDown(alex.client, campaign, alex);
      await acted(session, move(alex, "wades on"));
      const unwaited = session.act(move(alex, "walks off into the marsh"));
      const end = await leaveAndSeeEnd(campaign, session, alex);
      await unwaited;
      const timeline = await wholeTimeline(campaign.gm, campaign.universeId);
      const walked = timeline.find(
        (turn) => turn.kind === "custom" && turn.input.text === "Alex walks off into the marsh",
      );
      expect(walked?.position).toBeLessThan(end);
      const summary = timeline.find((turn) => turn.position === end)?.input.summary;
      expect.soft(summary, "the session's summary").toMatch(/^Alex played 2 turns/);
      await expectRunCounts(alex, alex.runId, { turnCount: 2, sessionCount: 1 }, "Alex's run");
      const back = await sitDown(alex.client, campaign, alex);
      const recap = await recapOf(back);
      expect
        .soft(
          recap.lastTurns.map((turn) => turn.position),
          "Alex's last turns",
        )
        .toContain(walked?.position);
      await back.leave();
    });
  });

  describe.skipIf(!mode.available)(`people play while the database takes its time (${mode.name})`, () => {
    let server: Server;
    const summing = new StoreGate("timeline");
    const writes = new StoreGate("appendMany");
    const uninstall: Array<() => void> = [];
    beforeAll(async () => {
      uninstall.push(summing.install(), writes.install());
      server = await startServer(mode, { port: 2625, pgliteWorker: false });
    });
    afterAll(async () => {
      summing.open();
      writes.open();
      await server?.shutdown();
      for (const undo of uninstall.splice(0)) undo();
    });

    it("a recap asked for while an earlier write is under way starts at the session just ended", async () => {
      const campaign = await setUp(server.url);
      const { Alex: alex, Bea: bea } = campaign.seats;
      const beaSession = await sitDown(bea.client, campaign, bea);
      const alexSession = await sitDown(alex.client, campaign, alex);
      const lookedAround = await acted(alexSession, move(alex, "looks around"));
      await campaign.gm.snapshot(campaign.universeId); // everything so far written
      // Alex's session ends while Bea plays: Bea's turn is being written when Alex's end is
      // acknowledged, so the end waits for the write after it
      summing.hold((_, query) => query?.runId === alex.runId && query.order === "asc");
      writes.hold(() => true);
      try {
        const leaving = alexSession.leave();
        await waitFor(() => summing.held() > 0, 5_000, "the session's end being summed up");
        await acted(beaSession, move(bea, "rows on"));
        await waitFor(() => writes.held() > 0, 5_000, "Bea's turn being written");
        summing.open();
        await leaving;
        let ended = 0;
        await waitFor(
          async () => {
            const { turns } = await campaign.gm.history(campaign.universeId, { order: "desc", limit: 20 });
            const end = turns.find((turn) => turn.kind === "session_end" && turn.runId === alex.runId);
            ended = end && end.position > lookedAround.position ? end.position : 0;
            return ended > 0;
          },
          5_000,
          "Alex's session end acknowledged",
        );
        // Alex asks for the recap and sits down again while Bea's write is still under way
        const overHttp = alex.client.recap(alex.runId);
        const back = sitDown(alex.client, campaign, alex).then(recapOf);
        await pause(300);
        writes.releaseOne();
        // the write with the session's end is held a while longer
        await Promise.race([Promise.all([overHttp, back]), pause(1_000)]);
        writes.open();
        expect.soft((await overHttp).previousSessionEnd, "the recap over HTTP starts at").toBe(ended);
        expect.soft((await back).previousSessionEnd, "the recap at the table starts at").toBe(ended);
      } finally {
        summing.open();
        writes.open();
      }
    });
  });

  describe.skipIf(!mode.available)(`people play, turns written late (${mode.name})`, () => {
    let server: Server;
    beforeAll(async () => {
      // turns reach the database only when something asks for them (a snapshot, a completion)
      server = await startServer(mode, { port: 2620, persistIntervalMs: 600_000, persistBatch: 100_000 });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("a turn undone before it is written comes off its run's count once", async () => {
      const campaign = await setUp(server.url);
      const { Alex: alex } = campaign.seats;
      const session = await sitDown(alex.client, campaign, alex);
      for (let i = 0; i < 3; i++) await acted(session, move(alex, `wades on ${i}`));
      ok(await session.undo());
      await session.leave();
      await campaign.gm.snapshot(campaign.universeId);
      const timeline = await wholeTimeline(campaign.gm, campaign.universeId);
      expect(playedTurns(timeline, alex.runId)).toBe(2);
      await expectRunCounts(alex, alex.runId, { turnCount: 2, sessionCount: 1 }, "Alex's run after the undo");
      const done = await alex.client.completeRun(alex.runId, "retired");
      expect.soft(done.run.turnCount, "the completed run's turns").toBe(2);
      expectFields(await alex.client.progression(), "Alex's progression", {
        runsCompleted: 1,
        turnsInCompletedRuns: 2,
      });
    });
  });
}
