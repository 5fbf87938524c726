import { describe, expect, it } from "vitest";
import { createRandom, turnSeed } from "../dice.ts";
import { evolve } from "../evolve.ts";
import { simulateCampaign } from "../testing/campaign.ts";
import type { UniverseState } from "../state.ts";
import type { Resolution, Turn, TurnEvent } from "../turn.ts";
import { bucketRecord } from "../buckets.ts";
import { npcPath } from "../world-records.ts";
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

/** Enough seeds that every phrasing of a beat shows up. */
const SEEDS = Array.from({ length: 60 }, (_, seed) => seed);

/** Every telling of a turn a reader may meet, whatever its seed. */
function tellings(turn: Turn, state: UniverseState = marches()): Set<string> {
  return new Set(
    SEEDS.map((seed) => narrateTemplate(turn, state, createRandom(turnSeed(seed, turn.position)))),
  );
}

/** The first sentence of every telling: the attempt of a roll. */
function attempts(turn: Turn, state: UniverseState = marches()): Set<string> {
  return new Set([...tellings(turn, state)].map((text) => sentences(text)[0]!));
}

function sentences(text: string): string[] {
  return text.split(/(?<=[.!?]"?) (?=[A-Z"])/u);
}

function marches(): UniverseState {
  const state = saltMarches();
  state.characters.kest = characterFixture("kest", "Kest");
  return state;
}

function event(type: string, data: Record<string, unknown> = {}, description = `${type} zzqq`): TurnEvent {
  return { type, description, major: false, hidden: false, data };
}

function told(events: TurnEvent[], input: Record<string, unknown> = {}, by: Partial<Turn> = {}): Turn {
  return { ...turnFixture({ position: 9, characterId: "mara" }), input, events, ...by };
}

interface RollSpec {
  action: Resolution["action"];
  outcome?: Resolution["outcome"];
  description?: string;
  target?: Record<string, unknown>;
  /** A skill of the universe's own by default, which the prose leaves unsaid. */
  skill?: string;
  hidden?: boolean;
  before?: TurnEvent[];
  after?: TurnEvent[];
}

function rolled(spec: RollSpec): Turn {
  const { action, outcome = "fail", skill = "Seafaring", hidden = false } = spec;
  return told(
    [...(spec.before ?? []), { ...event("roll"), hidden }, ...(spec.after ?? [])],
    { kind: "action", action, skill, description: spec.description ?? "", target: spec.target },
    {
      kind: action === "attack" || action === "defend" ? "combat" : "action",
      resolution: {
        action,
        skill,
        rating: 2,
        dice: [0, 0, 0, 0],
        rerolls: [],
        invokeBonus: 0,
        total: 2,
        opposition: 2,
        oppositionKind: "passive",
        oppositionDice: null,
        shifts: 0,
        outcome,
        hidden,
      },
    },
  );
}

const WICK = { type: "npc", id: "wick" };

describe("the template narrator, read as a player reads the timeline", () => {
  it("always says whose free text it is: a shared timeline cannot place a bare 'I'", () => {
    const line = told([event("custom")], {
      kind: "custom",
      text: "I ask the fishwife what she saw last night.",
    });
    expect(tellings(line)).toEqual(new Set(["Mara Vell: I ask the fishwife what she saw last night."]));
  });

  it("does not name the character twice when the free text names them already, or reads on from the name", () => {
    const named = told([event("custom")], { kind: "custom", text: "Mara hums a tune" });
    expect(tellings(named)).toEqual(new Set(["Mara hums a tune."]));
    const does = told([event("custom")], { kind: "custom", text: "hums an old shanty" });
    expect(tellings(does)).toEqual(new Set(["Mara Vell hums an old shanty."]));
    // a question is not a deed in the third person: no "Mara Vell is anyone there?"
    const asked = told([event("custom")], { kind: "custom", text: "Is anyone there?" });
    expect(tellings(asked)).toEqual(new Set(["Mara Vell: Is anyone there?"]));
  });

  it("tells a choice on from its colon, without a stray capital", () => {
    const choice = told([event("choice")], { kind: "choice", text: "Take the ferry" });
    expect(tellings(choice)).toEqual(
      new Set([
        "Mara Vell makes a choice: take the ferry.",
        "Mara Vell decides: take the ferry.",
        "Mara Vell chooses: take the ferry.",
      ]),
    );
    // the player's "I" is no reader's: the deed is told from its verb, and a lone "i" is capitalised
    for (const text of ["I take the ferry", "i take the ferry"])
      expect(tellings(told([event("choice")], { kind: "choice", text }))).toEqual(
        new Set([
          "Mara Vell makes a choice: take the ferry.",
          "Mara Vell decides: take the ferry.",
          "Mara Vell chooses: take the ferry.",
        ]),
      );
    expect(
      tellings(told([event("choice")], { kind: "choice", text: "i think we wait, and i'm sure of it" })),
    ).toEqual(
      new Set([
        "Mara Vell makes a choice: I think we wait, and I'm sure of it.",
        "Mara Vell decides: I think we wait, and I'm sure of it.",
        "Mara Vell chooses: I think we wait, and I'm sure of it.",
      ]),
    );
    expect(tellings(told([event("custom")], { kind: "custom", text: "i wait by the door" }))).toEqual(
      new Set(["Mara Vell: I wait by the door."]),
    );
  });

  it("opens a new scene with its title where a title belongs, and does not also say the old one ended", () => {
    const scene = told(
      [event("scene_ended"), event("scene_started", { sceneId: "scene-9", location: "Saltmere" })],
      { kind: "scene", title: "Council of Wardens", location: "Saltmere", summary: "" },
      { kind: "world_event", characterId: null, actor: "gm" },
    );
    expect(tellings(scene)).toEqual(
      new Set([
        "A new scene opens at Saltmere: Council of Wardens.",
        "The story moves on to Saltmere: Council of Wardens.",
        "At Saltmere, a new chapter begins: Council of Wardens.",
      ]),
    );
    // a fight the new scene ends is over before the story moves on
    const fought = { ...scene, events: [event("conflict_ended"), ...scene.events] };
    for (const text of tellings(fought))
      expect(text).toMatch(/^(The fighting stops|The fight is over|Silence returns)\. /);
    const asked = told(
      [event("scene_started", { sceneId: "scene-9", location: null })],
      { kind: "scene", title: "Who Rang the Bell?", summary: "fog on every stair" },
      { kind: "world_event", characterId: null, actor: "gm" },
    );
    expect(tellings(asked)).toEqual(
      new Set([
        "A new scene opens: Who Rang the Bell? Fog on every stair.",
        "The story moves on: Who Rang the Bell? Fog on every stair.",
        "A new chapter begins: Who Rang the Bell? Fog on every stair.",
      ]),
    );
  });

  it("does not name a place twice when the new scene opens where no one had been", () => {
    const state = marches();
    state.world.locationBuckets = bucketRecord({
      mill: { id: "mill", name: "The Old Mill", region: null, notes: "", discoveredAt: 9 },
    });
    const scene = told(
      [
        event("scene_started", { sceneId: "scene-9", location: "mill" }),
        event("location", { locationId: "mill", discovered: true }, "The Old Mill is discovered"),
      ],
      { kind: "scene", title: "Flour and Ash", location: "mill", summary: "" },
      { kind: "world_event", characterId: null, actor: "gm" },
    );
    for (const text of tellings(scene, state)) {
      expect(text.split("The Old Mill").length, text).toBe(2);
      expect(text).toMatch(/Flour and Ash\. (It is new ground|The place is new to them)\.$/);
    }
  });

  it("tells a change of heart as a story would, by how it moved", () => {
    const attitude = (data: Record<string, unknown>, deltas: Turn["deltas"] = []) =>
      told([event("attitude_changed", { npcId: "wick", characterId: "mara", ...data })], {}, { deltas });
    const warmer = attitude({ attitude: "friendly", previous: "wary" });
    expect(tellings(warmer)).toEqual(
      new Set(["Old Wick warms to Mara Vell.", "Old Wick takes a liking to Mara Vell."]),
    );
    // a game master's change: what it replaced is in the delta
    const path = npcPath("wick", "attitudes", "mara");
    const ally = attitude({ attitude: "ally" }, [{ op: "set", path, value: "ally", prev: "friendly" }]);
    expect(tellings(ally)).toEqual(
      new Set(["Old Wick stands with Mara Vell now.", "Old Wick becomes Mara Vell's ally."]),
    );
    // set to what it was: nothing changed, and the prose must not say it did
    const same = attitude({ attitude: "wary" }, [{ op: "set", path, value: "wary", prev: "wary" }]);
    expect(tellings(same)).toEqual(new Set(["Old Wick is still wary of Mara Vell."]));
    const everyone = told([event("attitude_changed", { npcId: "wick", relationship: "ally" })]);
    expect(tellings(everyone)).toEqual(new Set(["Old Wick is an ally now."]));
  });

  it("tells the enmity an attack makes after the harm it did, and not at all over a foe taken out", () => {
    const hostile = event("attitude_changed", {
      npcId: "wick",
      characterId: "mara",
      attitude: "hostile",
      previous: "wary",
    });
    const stress = event("stress", { npcId: "wick", shifts: 1, box: 0 });
    const hit = rolled({ action: "attack", outcome: "success", target: WICK, after: [hostile, stress] });
    for (const text of tellings(hit)) {
      const [, , harm, enmity] = sentences(text);
      expect(harm, text).toMatch(/^Old Wick (staggers|is hurt|reels)/);
      expect(["Old Wick will not forget this.", "This makes an enemy of Old Wick."], text).toContain(enmity);
    }
    const out = event("taken_out", { characterId: "mara", targetId: "wick" });
    const felled = rolled({
      action: "attack",
      outcome: "success",
      target: WICK,
      after: [hostile, { ...stress, data: { npcId: "wick", box: null } }, out],
    });
    for (const text of tellings(felled)) expect(text).not.toMatch(/forget|enemy/);
  });

  it("builds the attempt around what the player wrote, whatever its grammar", () => {
    const overcome = (description: string) => attempts(rolled({ action: "overcome", description }));
    expect(overcome("the collapsed tunnel")).toEqual(
      new Set([
        "Mara Vell takes on the collapsed tunnel.",
        "Mara Vell tackles the collapsed tunnel.",
        "Mara Vell turns to the collapsed tunnel.",
      ]),
    );
    const wading = new Set([
      "Mara Vell sets out to wade up the flooded stair.",
      "Mara Vell tries to wade up the flooded stair.",
    ]);
    expect(overcome("wade up the flooded stair")).toEqual(wading);
    expect(overcome("I wade up the flooded stair")).toEqual(wading);
    expect(overcome("Try to climb the wall.")).toEqual(
      new Set(["Mara Vell sets out to climb the wall.", "Mara Vell tries to climb the wall."]),
    );
    expect(overcome("wades across the channel")).toEqual(new Set(["Mara Vell wades across the channel."]));
    expect(overcome("Mara kicks the door in")).toEqual(new Set(["Mara kicks the door in."]));
    expect(overcome("I draw my knife")).toEqual(
      new Set(["Mara Vell makes a move: I draw my knife.", "Mara Vell makes an attempt: I draw my knife."]),
    );
    const attack = (description: string) => attempts(rolled({ action: "attack", description, target: WICK }));
    expect(attack("a sparring jab")).toEqual(
      new Set([
        "Mara Vell goes at Old Wick with a sparring jab.",
        "Mara Vell strikes at Old Wick with a sparring jab.",
        "Mara Vell tries a sparring jab.",
      ]),
    );
    // the deed names the target: no "rounds on Old Wick and lunges at Old Wick"
    expect(attack("lunges at Old Wick")).toEqual(new Set(["Mara Vell lunges at Old Wick."]));
    // no "looks for an edge, looking for an advantage"
    expect(attempts(rolled({ action: "create_advantage", description: "looks for an edge" }))).toEqual(
      new Set([
        "Mara Vell looks for an edge, hoping to gain by it.",
        "Mara Vell looks for an edge, seeking an advantage.",
      ]),
    );
    expect(attempts(rolled({ action: "defend", description: "a hail of arrows" }))).toEqual(
      new Set([
        "Mara Vell braces against a hail of arrows.",
        "Mara Vell stands fast against a hail of arrows.",
      ]),
    );
  });

  it("tells the aspects invoked as the attempt's lead, naming the character once", () => {
    const invoke = event("invoke", { aspects: ["Thick Fog", "Rising Tide", "Owes the Tide Court"] });
    const turn = rolled({
      action: "overcome",
      outcome: "success",
      description: "the gate",
      before: [invoke],
    });
    for (const text of tellings(turn)) {
      expect(text).toMatch(
        /^(Calling|Drawing|Leaning) on "Thick Fog", "Rising Tide" and "Owes the Tide Court", Mara Vell (takes on|tackles|turns to) the gate\. /,
      );
      expect(text.split("Mara Vell").length, text).toBe(2);
    }
    const hidden = rolled({
      action: "overcome",
      outcome: "success",
      description: "the gate",
      before: [{ ...invoke, hidden: true }],
      hidden: true,
    });
    for (const text of tellings(hidden))
      expect(text).toMatch(
        /^(Unseen by the others|Out of sight|In secret), (calling|drawing|leaning) on "Thick Fog"/,
      );
  });

  it("tells a skill by how it is used, never by its name on the sheet", () => {
    const turn = rolled({ action: "overcome", description: "the gate", skill: "Deceive" });
    const all = tellings(turn);
    for (const text of all) expect(text).not.toContain("Deceive");
    expect([...all].some((text) => text.startsWith("With a straight face, Mara Vell "))).toBe(true);
    // a deed with a manner of its own takes no other: not "Quietly, Mara Vell quietly slips…"
    const slipping = rolled({
      action: "overcome",
      description: "quietly slips past the guard",
      skill: "Stealth",
    });
    expect(attempts(slipping)).toEqual(new Set(["Mara Vell quietly slips past the guard."]));
  });

  it("tells how a roll went without a contradiction or a wrong verb", () => {
    const results = (spec: RollSpec) =>
      new Set([...tellings(rolled(spec))].map((text) => sentences(text)[1]));
    // "not there when it lands" says it lands
    expect(results({ action: "attack", target: WICK })).toEqual(
      new Set(["Old Wick turns it aside.", "It misses.", "Old Wick is not there when the blow falls."]),
    );
    // an obstacle overcome does not "hold"
    expect(results({ action: "overcome", outcome: "tie" })).toEqual(
      new Set(["It works, barely, and not without a price.", "A near thing: it works, at a cost."]),
    );
  });

  it("says the surroundings, not the game's 'scene', when an advantage is looked for in them", () => {
    expect(attempts(rolled({ action: "create_advantage", target: { type: "scene" } }))).toEqual(
      new Set([
        "Mara Vell sizes up the surroundings, looking for an advantage.",
        "Mara Vell studies the surroundings for something to use.",
      ]),
    );
  });

  it("says 'edge' at most once when a small gain leaves a boost", () => {
    const state = marches();
    state.scene.aspects.gap = {
      id: "gap",
      name: "Gap in the Wall",
      freeInvokes: 1,
      boost: true,
      createdBy: "mara",
      sourcePosition: 9,
    };
    const turn = rolled({
      action: "create_advantage",
      outcome: "tie",
      after: [event("boost", { aspectId: "gap" })],
    });
    for (const text of tellings(turn, state)) expect(text.split("edge").length, text).toBeLessThan(3);
    expect(tellings(told([event("boost", { aspectId: "gap" })]), state)).toEqual(
      new Set([
        'For a moment, Mara Vell has "Gap in the Wall" to use.',
        'A fleeting chance opens: "Gap in the Wall".',
      ]),
    );
  });

  it("tells a new aspect as part of the scene", () => {
    expect(tellings(told([event("aspect_created", { aspectId: "fog" })]))).toEqual(
      new Set([
        'Now there is "Thick Fog" to work with.',
        'The scene gains "Thick Fog".',
        'The scene now holds "Thick Fog".',
      ]),
    );
  });

  it("tells a consequence by its name whether the name is an adjective or a noun", () => {
    const state = marches();
    state.characters.kest!.consequences.moderate = { aspect: "Deep Gash", freeInvokes: 1, sourcePosition: 9 };
    const stress = event("stress", {
      characterId: "kest",
      shifts: 4,
      track: "physical",
      box: null,
      consequences: ["moderate"],
    });
    expect(tellings(told([stress]), state)).toEqual(
      new Set([
        'Kest will carry this: "Deep Gash".',
        'It leaves its mark on Kest: "Deep Gash".',
        'Kest takes a lasting hurt: "Deep Gash".',
      ]),
    );
  });

  it("tells a fight of words with words, not steel", () => {
    const mental = event("stress", {
      characterId: "kest",
      shifts: 1,
      track: "mental",
      box: 0,
      consequences: [],
    });
    const turn = rolled({
      action: "attack",
      outcome: "success",
      skill: "Provoke",
      target: { type: "character", id: "kest" },
      before: [event("conflict_started")],
      after: [mental],
    });
    for (const text of tellings(turn)) {
      const [opening, , , harm] = sentences(text);
      expect(["The fight is on.", "It comes to a fight.", "Now it is a fight."]).toContain(opening);
      expect(["Kest is shaken, but holds together.", "Kest wavers, but does not break."]).toContain(harm);
    }
  });

  // What the rules' descriptions say in the game's terms (fate points, compels, milestones,
  // standings), told as the story; each with every phrasing a reader may meet.
  const mechanics: Array<[string, TurnEvent, string[]]> = [
    [
      "a concession",
      event(
        "conceded",
        { characterId: "mara", fatePoints: 2 },
        "Mara Vell concedes the conflict and gains 2 fate points",
      ),
      [
        "Mara Vell concedes the fight.",
        "Mara Vell yields before worse can happen.",
        "Mara Vell gives up the fight, on their own terms.",
      ],
    ],
    [
      "an accepted compel",
      event("compel_accepted", {
        characterId: "mara",
        aspect: "Owes the Tide Court",
        complication: "the collector comes calling",
      }),
      [
        '"Owes the Tide Court" catches up with Mara Vell. The collector comes calling.',
        'True to "Owes the Tide Court", trouble finds Mara Vell. The collector comes calling.',
      ],
    ],
    [
      "a refused compel",
      event("compel_refused", {
        characterId: "mara",
        aspect: "Owes the Tide Court",
        complication: "the collector comes calling",
      }),
      [
        'Mara Vell will not let "Owes the Tide Court" get in the way.',
        'Mara Vell refuses to be ruled by "Owes the Tide Court".',
      ],
    ],
    [
      "a milestone",
      event(
        "milestone",
        { characterId: "mara", level: "minor" },
        "Mara Vell reaches a minor milestone: she kept her word",
      ),
      ["Mara Vell grows a little. She kept her word.", "Mara Vell learns from it. She kept her word."],
    ],
    [
      "a faction's standing",
      event("faction", { factionId: "wardens" }, "The standing of the Harbour Wardens rises to 3"),
      ["The standing of the Harbour Wardens rises."],
    ],
    [
      "a failed quest",
      event("quest_failed", { questId: "bell" }, 'The quest "The Drowned Bell" is failed'),
      ['The quest "The Drowned Bell" ends in failure.', 'The quest "The Drowned Bell" is lost.'],
    ],
    [
      "a new quest",
      event("quest_added", { questId: "bell", state: "active" }, 'The quest "The Drowned Bell" is open'),
      ['A new quest begins: "The Drowned Bell".', 'A quest opens: "The Drowned Bell".'],
    ],
    [
      "a paused quest",
      event("quest_updated", { questId: "bell", state: "paused" }, 'The quest "The Drowned Bell" is paused'),
      ['The quest "The Drowned Bell" is set aside for now.'],
    ],
    [
      "a completed run",
      event(
        "run_ended",
        { characterId: "mara", outcome: "completed", reason: "retired to the lighthouse" },
        "Mara Vell completes their story (retired to the lighthouse)",
      ),
      [
        "So ends the tale of Mara Vell: retired to the lighthouse.",
        "Mara Vell's story comes to its end: retired to the lighthouse.",
      ],
    ],
  ];
  it.each(mechanics)("tells %s as the story, not the sheet", (_, happened, expected) => {
    expect(tellings(told([happened]))).toEqual(new Set(expected));
  });

  it("ends a session without saying the character rests twice", () => {
    const ending = told(
      [event("session_ended", { summary: "Mara rests after a long night." })],
      {},
      { kind: "session_end" },
    );
    expect(tellings(ending)).toEqual(
      new Set([
        "Mara Vell steps away from the table for now. Mara rests after a long night.",
        "Mara Vell leaves the table for now. Mara rests after a long night.",
      ]),
    );
  });

  it("brings a new character in with words its first session will not repeat", () => {
    expect(
      tellings(
        told([event("character_joined", { characterId: "kest" })], {}, { characterId: null, actor: "gm" }),
      ),
    ).toEqual(
      new Set([
        "Enter Kest, Wandering salt-witch.",
        "The story gains Kest, Wandering salt-witch.",
        "A new face: Kest, Wandering salt-witch.",
      ]),
    );
  });

  it("says a new character's name once when the high concept begins with it", () => {
    const state = saltMarches();
    state.characters.kest!.highConcept = "Kest, wandering salt-witch";
    const turn: Turn = {
      ...turnFixture({ position: 5, characterId: null, kind: "system" }),
      actor: "gm",
      events: [event("character_joined", { characterId: "kest" })],
    };
    for (let seed = 1; seed <= 12; seed++)
      expect(narrateTemplate(turn, state, createRandom(seed))).toMatch(
        /^(Enter|The story gains|A new face:) Kest, wandering salt-witch\.$/,
      );
  });

  it("tells a world event as it happens, not 'elsewhere'", () => {
    const storm = told(
      [event("world_event")],
      { kind: "world_event", text: "a storm breaks over the marsh" },
      { characterId: null, actor: "gm" },
    );
    expect(tellings(storm)).toEqual(new Set(["A storm breaks over the marsh."]));
  });

  it("does not say 'a player' took a turn back", () => {
    const undo = told(
      [event("undo", { targetPosition: 3 })],
      {},
      { kind: "undo", characterId: null, actor: "player" },
    );
    expect(tellings(undo)).toEqual(
      new Set([
        "The story takes back a step: turn 3 never happened.",
        "Turn 3 is taken back, as if it never happened.",
      ]),
    );
  });
});
