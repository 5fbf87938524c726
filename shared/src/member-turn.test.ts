import { describe, expect, it } from "vitest";
import { decodeTurnMessage, encodeMemberTurnMessage, encodeTurnMessage } from "./protocol.ts";
import { compactMemberTurn, expandMemberTurn, MEMBER_TURN_VERSION } from "./member-turn.ts";
import { simulateCampaign } from "./testing/campaign.ts";
import { GAME_MASTER, SPECTATOR, viewTurn } from "./visibility.ts";
import type { Turn } from "./turn.ts";

const campaign = simulateCampaign({ seed: 11, turns: 1_500 });
/** As a member receives them live: viewed for a spectator, without deltas. */
const memberTurns: Turn[] = campaign.turns.map((turn) => viewTurn({ ...turn, deltas: [] }, SPECTATOR));

describe("a member's turn message", () => {
  it("given every turn of a played campaign, when encoded compact and decoded, then it is the same turn", () => {
    const kinds = new Set(memberTurns.map((turn) => turn.kind));
    // the campaign covers the kinds whose fields differ: rolls, undos, retcons, sessions
    for (const kind of ["action", "combat", "undo", "retcon", "session_start", "world_event"])
      expect(kinds).toContain(kind);
    expect(memberTurns.some((turn) => turn.resolution !== null)).toBe(true);
    expect(memberTurns.some((turn) => turn.status === "undone")).toBe(true);
    for (const turn of memberTurns)
      expect(decodeTurnMessage(encodeMemberTurnMessage(turn), turn.universeId)).toEqual(turn);
  });

  it("given a turn with narration, a hidden roll's resolution and event data, then every field comes back", () => {
    const rolled = campaign.turns.find((turn) => turn.resolution !== null)!;
    const turn: Turn = {
      ...viewTurn({ ...rolled, deltas: [] }, GAME_MASTER),
      status: "undone",
      resolution: { ...rolled.resolution!, hidden: true, oppositionDice: [1, 0, -1, 0] },
      events: [
        { type: "note", description: "A secret", major: true, hidden: true, data: { who: "x", n: 2 } },
        { type: "plain", description: "", major: false, hidden: false, data: {} },
      ],
      narration: {
        text: "The rain.",
        narrator: "template",
        model: null,
        seed: 4,
        promptHash: null,
        tokens: null,
      },
    };
    expect(expandMemberTurn(JSON.parse(JSON.stringify(compactMemberTurn(turn))), turn.universeId)).toEqual(
      turn,
    );
  });

  it("given a narration told as its turn was made, then it is sent by position and comes back whole", () => {
    const told = {
      text: "Rain on the sea wall.",
      model: null,
      promptHash: null,
      tokens: null,
      endpoint: null,
      parameters: {},
      narrator: "template",
      seed: 7,
      latencyMs: 0,
      fallback: null,
      audience: "table" as const,
      createdAt: "2026-12-03T14:00:00.000Z",
    };
    const base = memberTurns[0]!;
    const roundTrip = (turn: Turn) =>
      expandMemberTurn(JSON.parse(JSON.stringify(compactMemberTurn(turn))), turn.universeId);
    const turn: Turn = { ...base, narration: told };
    expect(Array.isArray(compactMemberTurn(turn)[12])).toBe(true);
    expect(roundTrip(turn)).toEqual(turn);
    expect(JSON.stringify(roundTrip(turn).narration)).toBe(JSON.stringify(told));
    // any other shape goes as the record: a model's, a retold one, one written before audiences
    const { audience: _audience, ...older } = told;
    for (const narration of [
      { ...told, model: "story-7b", tokens: { prompt: 10, completion: 5 } },
      { ...told, retellings: [told] },
      { ...told, parameters: { temperature: 0.8 } },
      older,
    ]) {
      const other: Turn = { ...base, narration };
      expect(compactMemberTurn(other)[12]).toEqual(narration);
      expect(roundTrip(other)).toEqual(other);
    }
    // version 1 layouts (always the record) still read
    expect(expandMemberTurn([1, ...compactMemberTurn(base).slice(1)], base.universeId)).toEqual(base);
  });

  it("is smaller than the turn document: the names and the universe id are not sent", () => {
    let compact = 0;
    let named = 0;
    for (const turn of memberTurns) {
      compact += encodeMemberTurnMessage(turn).byteLength;
      named += encodeTurnMessage(turn).byteLength;
    }
    expect(compact / named).toBeLessThan(0.8);
  });

  it("a game master's message is the turn document, deltas included", () => {
    const turn = campaign.turns.find((t) => t.deltas.length > 0)!;
    expect(decodeTurnMessage(encodeTurnMessage(turn), "another-universe")).toEqual(turn);
  });

  it("refuses a layout of another version rather than misread its fields", () => {
    const compact = compactMemberTurn(memberTurns[0]!);
    expect(() => expandMemberTurn([MEMBER_TURN_VERSION + 1, ...compact.slice(1)], "u")).toThrow(
      /not a member turn of version 1 or 2 \(version 3\)/,
    );
    expect(() => expandMemberTurn({ position: 1 }, "u")).toThrow(/not a member turn/);
  });
});
