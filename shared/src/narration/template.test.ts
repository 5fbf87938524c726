import { describe, expect, it } from "vitest";
import { createRandom, turnSeed } from "../dice.ts";
import { evolve } from "../evolve.ts";
import { simulateCampaign } from "../testing/campaign.ts";
import type { UniverseState } from "../state.ts";
import type { Turn, TurnEvent } from "../turn.ts";
import { characterFixture, saltMarches, turnFixture } from "../continuity/fixtures.ts";
import { narrateTemplate } from "./template.ts";
import { narrationSeed } from "./index.ts";

/** Mechanical phrasing the prose must not read like: ladder ratings, dice totals, "with Fight". */
const MECHANICAL =
  /\((Terrible|Poor|Mediocre|Average|Fair|Good|Great|Superb|Fantastic|Epic|Legendary) [+-−]?\d|rolling|\d-shift|free invoke/;

function narrate(turn: Turn, state: UniverseState): string {
  return narrateTemplate(turn, state, createRandom(narrationSeed(turn)));
}

/** Every turn of a seeded campaign, with the state after it. */
function campaign(turns: number): Array<{ turn: Turn; after: UniverseState }> {
  const { genesis, turns: log } = simulateCampaign({ seed: 15, turns });
  const out: Array<{ turn: Turn; after: UniverseState }> = [];
  let state = genesis;
  for (const turn of log) {
    state = evolve(state, turn.deltas);
    out.push({ turn, after: state });
  }
  return out;
}

describe("the template narrator", () => {
  const played = campaign(400);

  it("tells every turn of a realistic campaign as punctuated prose, without ladder numbers or dice", () => {
    for (const { turn, after } of played) {
      const text = narrate(turn, after);
      expect(text.length, `turn ${turn.position}`).toBeGreaterThan(3);
      expect(text, `turn ${turn.position}: ${text}`).toMatch(/^[A-Z"“]/u);
      expect(text, `turn ${turn.position}: ${text}`).toMatch(/[.!?…"”]$/u);
      expect(text, `turn ${turn.position}: ${text}`).not.toMatch(MECHANICAL);
      expect(text).not.toContain("{");
    }
  });

  it("is deterministic: the same turn and state give the same text", () => {
    for (const { turn, after } of played.slice(0, 50))
      expect(narrate(turn, after)).toBe(narrate(turn, after));
  });

  it("varies its phrasing with the turn's seed", () => {
    const rolls = played.filter(({ turn }) => turn.events.some((e) => e.type === "roll"));
    const openings = new Set(
      rolls.map(({ turn, after }) => narrate(turn, after).split(" ").slice(1, 3).join(" ")),
    );
    expect(openings.size).toBeGreaterThan(4);
  });

  it("no longer says that a character attacks their own description", () => {
    const state = saltMarches();
    const turn: Turn = {
      ...turnFixture({ position: 5, characterId: "mara", kind: "combat" }),
      input: {
        kind: "action",
        action: "attack",
        skill: "Fight",
        description: "a sparring jab",
        target: { type: "npc", id: "wick" },
      },
      resolution: {
        action: "attack",
        skill: "Fight",
        rating: 2,
        dice: [1, 0, 0, 1],
        rerolls: [],
        invokeBonus: 0,
        total: 4,
        opposition: 2,
        oppositionKind: "active",
        oppositionDice: [0, 0, 0, 0],
        shifts: 2,
        outcome: "success",
        hidden: false,
      },
      events: [
        {
          type: "roll",
          description: "Mara Vell attacks a sparring jab with Fight (Fair +2) …",
          major: false,
          hidden: false,
          data: {},
        },
      ],
    };
    for (let seed = 0; seed < 20; seed++) {
      const text = narrateTemplate(turn, state, createRandom(turnSeed(seed, 5)));
      expect(text).not.toMatch(/attacks a sparring jab/);
      expect(text.toLowerCase()).toContain("a sparring jab");
      expect(text).toMatch(/Old Wick|It lands|strikes home|connects/);
    }
  });

  // The event kinds the rules produce (grep `draft.event(` in rules/), each given in a turn.
  const kinds: Array<[string, Partial<TurnEvent>, Record<string, unknown>?]> = [
    ["scene_started", { data: { location: null } }, { kind: "scene", title: "The Bell Tower" }],
    ["scene_ended", {}],
    ["conflict_started", {}],
    ["conflict_ended", {}],
    [
      "world_event",
      { description: "A storm breaks" },
      { kind: "world_event", text: "a storm breaks over the marsh" },
    ],
    ["choice", {}, { kind: "choice", text: "Take the ferry" }],
    ["custom", {}, { kind: "custom", text: "I hum an old tide-song" }],
    ["character_joined", { data: { characterId: "kest" } }],
    ["session_started", {}],
    ["session_ended", {}],
    ["undo", { description: "The game master undoes turn 3 (a storm)", data: { targetPosition: 3 } }],
    [
      "retcon",
      { description: "Retcon: the bell is bronze" },
      { kind: "retcon", note: "The bell is bronze." },
    ],
    ["stress", { description: "Old Wick checks stress box 1", data: { npcId: "wick", shifts: 1, box: 0 } }],
    ["taken_out", { description: "Mara Vell takes Grue out" }],
    ["aspect_created", { data: { aspectId: "fog", freeInvokes: 1 } }],
    ["boost", { data: { aspectId: "tide" } }],
    ["free_invokes", { data: { aspectId: "fog", freeInvokes: 1 } }],
    ["invoke", { data: { aspects: ["Thick Fog"], fatePoints: 1 } }],
    ["attitude_changed", { description: "Old Wick is now hostile towards Mara Vell" }],
    ["location", { description: "Saltmere is discovered" }],
    ["quest_added", { description: 'The quest "The Drowned Bell" is open' }],
    ["quest_updated", { description: 'The quest "The Drowned Bell" is paused' }],
    ["quest_resolved", { description: 'The quest "The Drowned Bell" is resolved' }],
    ["quest_failed", { description: 'The quest "The Drowned Bell" is failed' }],
    [
      "compel_accepted",
      { description: 'Mara Vell accepts a compel on "Owes the Tide Court" and gains a fate point: the debt' },
    ],
    [
      "compel_refused",
      { description: 'Mara Vell pays a fate point to refuse a compel on "Owes the Tide Court"' },
    ],
    ["conceded", { description: "Mara Vell concedes the conflict and gains 1 fate point" }],
    ["run_ended", { description: "Mara Vell completes their story" }],
  ];
  it.each(kinds)("tells a %s event as a sentence", (type, event, input) => {
    const state = saltMarches();
    state.characters.kest = characterFixture("kest", "Kest");
    const turn: Turn = {
      ...turnFixture({ position: 9, characterId: "mara" }),
      input: input ?? {},
      events: [{ type, description: `${type} zzqq`, major: false, hidden: false, data: {}, ...event }],
    };
    const text = narrate(turn, state);
    expect(text).toMatch(/^[A-Z"]/);
    expect(text).toMatch(/[.!?"]$/);
    expect(text).not.toContain("{");
    expect(text).not.toContain("zzqq");
    expect(text).not.toMatch(MECHANICAL);
  });

  it("tells a session's prose: the summary at its end, where the story stands at its start", () => {
    const state = saltMarches();
    const ending: Turn = {
      ...turnFixture({ position: 9, characterId: "mara", kind: "session_end" }),
      events: [
        {
          type: "session_ended",
          description: "Mara Vell leaves the table",
          major: false,
          hidden: false,
          data: { summary: "Mara crossed the marsh and lost her lantern" },
        },
      ],
    };
    expect(narrate(ending, state)).toMatch(/Mara crossed the marsh and lost her lantern\.$/);
    const starting: Turn = {
      ...turnFixture({ position: 10, characterId: "mara", kind: "session_start" }),
      events: [
        {
          type: "session_started",
          description: "Mara Vell joins the table",
          major: false,
          hidden: false,
          data: { lastTime: "Mara swam the flooded nave" },
        },
      ],
    };
    // the run's own last session, not the universe's latest summary (someone else's, maybe)
    expect(narrate(starting, state)).toContain("Last time: Mara swam the flooded nave.");
    expect(narrate(starting, state)).not.toContain(state.canon.summaryRecent);
    const firstTime: Turn = {
      ...starting,
      events: [{ ...starting.events[0]!, data: {} }],
    };
    expect(narrate(firstTime, state)).not.toContain("Last time");
    expect(narrate(firstTime, state)).toMatch(/returns to the table|takes up the tale again/);
    // a run's first session: its character comes into the story, not back to it
    const arriving: Turn = {
      ...starting,
      events: [{ ...starting.events[0]!, data: { first: true } }],
    };
    expect(narrate(arriving, state)).toMatch(/^Mara Vell (steps into the tale|comes into the story)\.$/);
  });

  it("tells a hidden roll as happening in secret", () => {
    const hidden = played.find(({ turn }) => turn.resolution?.hidden);
    const roll = played.find(({ turn }) => turn.resolution && !turn.resolution.hidden)!;
    const turn: Turn = { ...roll.turn, resolution: { ...roll.turn.resolution!, hidden: true } };
    expect(narrate(turn, roll.after)).toMatch(/(^|\. )(Unseen by the others|Out of sight|In secret), /);
    if (hidden) expect(narrate(hidden.turn, hidden.after)).toMatch(/(^|\. )(Unseen|Out of sight|In secret)/);
  });
});
