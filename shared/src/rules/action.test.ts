import { readNpc } from "../world-records.ts";
import { describe, expect, it } from "vitest";
import { factsById, readFact } from "../canon-facts.ts";
import { seedUniverse, sampleCharacter } from "../testing/universe.ts";
import type { Target } from "../command.ts";
import { opposedDifficultyRefusal } from "../actors.ts";
import { fullSceneRefusal, hiddenRollRefusal } from "./action-effects.ts";
import type { UniverseState } from "../state.ts";
import { command, decided, KELL, MARA, POSITION, rejected } from "./kit.test-helpers.ts";

const GM = { kind: "gm", playerId: "gm-1" } as const;

const overcome = (extra: Record<string, unknown> = {}) =>
  command({
    kind: "action",
    characterId: "mara",
    action: "overcome",
    skill: "Athletics",
    description: "the locked gate",
    opposition: 2,
    ...extra,
  });

describe("overcome (Fate Core p. 132)", () => {
  it("given Mara at Athletics Fair +2 against Fair +2, when she rolls +2, then she succeeds by 2 shifts", () => {
    const { resolution, deltas, kind, events } = decided(seedUniverse(), overcome(), MARA, [1, 1, 0, 0]);
    expect(resolution).toMatchObject({
      skill: "Athletics",
      rating: 2,
      dice: [1, 1, 0, 0],
      total: 4,
      opposition: 2,
      oppositionKind: "passive",
      shifts: 2,
      outcome: "success",
      rerolls: [],
      oppositionDice: null,
    });
    expect(deltas).toEqual([]);
    expect(kind).toBe("action");
    expect(events[0]!.description).toBe(
      "Mara overcomes the locked gate with Athletics (Fair +2) against Fair +2, rolling Great +4: success",
    );
  });

  it("when she beats the difficulty by 3, then she succeeds with style and gains a boost", () => {
    const { resolution, after } = decided(seedUniverse(), overcome(), MARA, [1, 1, 1, 0]);
    expect(resolution!.outcome).toBe("success_with_style");
    expect(after.scene.aspects[`aspect-${POSITION}-1`]).toEqual({
      id: `aspect-${POSITION}-1`,
      name: "Mara's Momentum",
      freeInvokes: 1,
      boost: true,
      createdBy: "mara",
      sourcePosition: POSITION,
    });
  });

  it("when she rolls −2, then she fails and nothing changes", () => {
    const { resolution, deltas } = decided(seedUniverse(), overcome(), MARA, [-1, -1, 0, 0]);
    expect(resolution).toMatchObject({ total: 0, shifts: -2, outcome: "fail" });
    expect(deltas).toEqual([]);
  });

  it("when she matches the difficulty exactly, then it is a tie", () => {
    expect(decided(seedUniverse(), overcome(), MARA, [1, -1, 0, 0]).resolution!.outcome).toBe("tie");
  });

  it("given a skill not on her sheet, then she rolls it at Mediocre (+0) rather than being refused", () => {
    const { resolution } = decided(seedUniverse(), overcome({ skill: "Lore" }), MARA, [0, 0, 0, 0]);
    expect(resolution).toMatchObject({ skill: "Lore", rating: 0, total: 0, outcome: "fail" });
  });

  it("given no opposition and no opponent, then the difficulty is Fair (+2)", () => {
    const { resolution } = decided(seedUniverse(), overcome({ opposition: undefined }), MARA, [0, 0, 0, 0]);
    expect(resolution).toMatchObject({ opposition: 2, oppositionKind: "passive", outcome: "tie" });
  });

  it("given an NPC in the way, then he opposes actively with his own roll, drawn after hers", () => {
    // Brannoc opposes Athletics with Athletics Average +1.
    const cmd = overcome({ opposition: undefined, target: { type: "npc", id: "brannoc" }, description: "" });
    const { resolution, after, events } = decided(seedUniverse(), cmd, MARA, [1, 0, 0, 0, 1, 1, -1, 1]);
    expect(resolution).toMatchObject({
      dice: [1, 0, 0, 0],
      total: 3,
      oppositionKind: "active",
      oppositionDice: [1, 1, -1, 1],
      opposition: 3,
      outcome: "tie",
    });
    expect(readNpc(after, "brannoc")!.lastSeenPosition).toBe(POSITION);
    expect(events[0]!.description).toContain(
      "Mara overcomes Old Brannoc with Athletics (Fair +2) against an active opposition of Good +3",
    );
  });

  it("given a player naming a difficulty, whatever the target, then it is refused as submitted; a GM may", () => {
    for (const target of [
      { type: "npc", id: "brannoc" },
      { type: "character", id: "kell" },
      { type: "scene" },
      undefined,
    ] as const) {
      const attack = overcome({ action: "attack", skill: "Fight", target, opposition: -4 });
      expect(opposedDifficultyRefusal(MARA, attack)).toMatchObject({ code: "not_allowed" });
      expect(opposedDifficultyRefusal(GM, attack)).toBeNull();
      expect(opposedDifficultyRefusal(MARA, overcome({ target, opposition: undefined }))).toBeNull();
      // the rules still decide it: a timeline recorded before the check replays as it was
      if (target?.type === "npc" || target?.type === "character") {
        const { resolution } = decided(seedUniverse(), attack, MARA, [0, 0, 0, 0]);
        expect(resolution).toMatchObject({ opposition: -4, oppositionKind: "passive" });
      }
    }
    const { resolution } = decided(seedUniverse(), overcome({ opposition: -4 }), MARA, [0, 0, 0, 0]);
    expect(resolution).toMatchObject({ opposition: -4, oppositionKind: "passive" });
  });

  it("given a skill name that is not an identifier, then the schema refuses the command", () => {
    expect(() => overcome({ skill: "Athletics; drop" })).toThrow();
    expect(() => overcome({ skill: "__proto__" })).toThrow();
    expect(overcome({ skill: "Arcane Lore" })).toMatchObject({ skill: "Arcane Lore" });
  });
});

describe("who may act", () => {
  it("a player may not act for another player's character", () => {
    rejected(seedUniverse(), overcome(), KELL, "not_your_character");
  });

  it("an unknown character is refused", () => {
    rejected(seedUniverse(), overcome({ characterId: "nobody" }), MARA, "unknown_character");
    rejected(seedUniverse(), overcome({ characterId: "constructor" }), MARA, "unknown_character");
  });

  it("a character taken out of the scene cannot act", () => {
    const state = seedUniverse();
    state.characters.mara!.takenOut = true;
    rejected(state, overcome(), MARA, "taken_out");
  });

  it("only a game master may roll in secret, and a secret roll's events are hidden", () => {
    rejected(seedUniverse(), overcome({ hidden: true }), MARA, "not_allowed");
    const { events, resolution } = decided(seedUniverse(), overcome({ hidden: true }), GM, [0, 0, 0, 0]);
    expect(resolution!.hidden).toBe(true);
    expect(events.every((event) => event.hidden)).toBe(true);
  });

  it("a game master may act for any character", () => {
    expect(decided(seedUniverse(), overcome(), GM, [0, 0, 0, 0]).resolution!.outcome).toBe("tie");
  });
});

describe("invoking aspects (Fate Core pp. 68–69)", () => {
  const invoke = (
    aspect: string,
    payment: "fate_point" | "free_invoke",
    effect: "bonus" | "reroll" = "bonus",
  ) => ({ aspect, effect, payment });

  it("given 3 fate points, when Mara invokes her high concept for +2, then she pays one and adds 2", () => {
    const cmd = overcome({ invokes: [invoke("Mara, Oathsworn Wanderer", "fate_point")] });
    const { resolution, after, deltas } = decided(seedUniverse(), cmd, MARA, [0, 0, 0, 0]);
    expect(resolution).toMatchObject({ invokeBonus: 2, total: 4, outcome: "success" });
    expect(after.characters.mara!.fatePoints).toBe(2);
    expect(deltas).toContainEqual({
      op: "increment",
      path: "/characters/mara/fatePoints",
      value: -1,
      prev: 3,
    });
  });

  it("when she invokes for a reroll, then all four dice are rolled again and the new roll stands", () => {
    const cmd = overcome({ invokes: [invoke("Salt in My Veins", "fate_point", "reroll")] });
    const { resolution } = decided(seedUniverse(), cmd, MARA, [-1, -1, -1, -1, 1, 1, 0, -1]);
    expect(resolution).toMatchObject({
      dice: [-1, -1, -1, -1],
      rerolls: [[1, 1, 0, -1]],
      total: 3,
      invokeBonus: 0,
      outcome: "success",
    });
  });

  it("given Thick Fog with one free invoke, when she uses it, then it is spent and costs no fate point", () => {
    const { resolution, after } = decided(
      seedUniverse(),
      overcome({ invokes: [invoke("fog", "free_invoke")] }),
      MARA,
      [0, 0, 0, 0],
    );
    expect(resolution!.total).toBe(4);
    expect(after.scene.aspects.fog!.freeInvokes).toBe(0);
    expect(after.characters.mara!.fatePoints).toBe(3);
  });

  it("finds scene aspects by name as well as by id", () => {
    const { after } = decided(
      seedUniverse(),
      overcome({ invokes: [invoke("thick fog", "free_invoke")] }),
      MARA,
      [0, 0, 0, 0],
    );
    expect(after.scene.aspects.fog!.freeInvokes).toBe(0);
  });

  it("given Crowded Docks with no free invoke, then a free invoke is refused", () => {
    rejected(seedUniverse(), overcome({ invokes: [invoke("docks", "free_invoke")] }), MARA, "no_free_invoke");
  });

  it("character aspects carry no free invokes", () => {
    rejected(
      seedUniverse(),
      overcome({ invokes: [invoke("Trouble Follows Me", "free_invoke")] }),
      MARA,
      "no_free_invoke",
    );
  });

  it("an aspect that is nowhere to be found is refused", () => {
    rejected(
      seedUniverse(),
      overcome({ invokes: [invoke("Flaming Sword", "fate_point")] }),
      MARA,
      "unknown_aspect",
    );
  });

  it("given no fate points, then paying with one is refused; given one, then paying two is refused", () => {
    const broke = seedUniverse();
    broke.characters.mara!.fatePoints = 0;
    rejected(
      broke,
      overcome({ invokes: [invoke("Salt in My Veins", "fate_point")] }),
      MARA,
      "no_fate_points",
    );
    const one = seedUniverse();
    one.characters.mara!.fatePoints = 1;
    const two = [invoke("Salt in My Veins", "fate_point"), invoke("Trouble Follows Me", "fate_point")];
    rejected(one, overcome({ invokes: two }), MARA, "no_fate_points");
  });

  it("a fate point buys one invoke of an aspect per roll, but free invokes stack", () => {
    const twice = [invoke("Salt in My Veins", "fate_point"), invoke("Salt in My Veins", "fate_point")];
    rejected(seedUniverse(), overcome({ invokes: twice }), MARA, "invalid_action");
    const state = seedUniverse();
    state.scene.aspects.fog!.freeInvokes = 2;
    const { resolution, after } = decided(
      state,
      overcome({ invokes: [invoke("fog", "free_invoke"), invoke("fog", "free_invoke")] }),
      MARA,
      [0, 0, 0, 0],
    );
    expect(resolution!.invokeBonus).toBe(4);
    expect(after.scene.aspects.fog!.freeInvokes).toBe(0);
    rejected(
      seedUniverse(),
      overcome({ invokes: [invoke("fog", "free_invoke"), invoke("fog", "free_invoke")] }),
      MARA,
      "no_free_invoke",
    );
  });

  it("given a boost, when invoked, then it vanishes; it cannot be invoked twice", () => {
    const state = seedUniverse();
    state.scene.aspects.edge = {
      id: "edge",
      name: "Off Balance",
      freeInvokes: 1,
      boost: true,
      createdBy: "kell",
      sourcePosition: 3,
    };
    const { after, resolution } = decided(
      state,
      overcome({ invokes: [invoke("edge", "free_invoke")] }),
      MARA,
      [0, 0, 0, 0],
    );
    expect(resolution!.total).toBe(4);
    expect(after.scene.aspects.edge).toBeUndefined();
    rejected(
      state,
      overcome({ invokes: [invoke("edge", "free_invoke"), invoke("edge", "fate_point")] }),
      MARA,
      "no_free_invoke",
    );
  });

  it("given Kell's mild consequence with a free invoke, when Mara attacks him invoking it, then the invoke is spent", () => {
    const state = seedUniverse();
    state.characters.kell!.consequences.mild = {
      aspect: "Sprained Wrist",
      freeInvokes: 1,
      sourcePosition: 4,
    };
    const cmd = command({
      kind: "action",
      characterId: "mara",
      action: "attack",
      skill: "Fight",
      target: { type: "character", id: "kell" },
      invokes: [invoke("Sprained Wrist", "free_invoke")],
    });
    const { resolution, after } = decided(state, cmd, MARA, [0, 0, 0, 0, 0, 0, 0, 0]);
    expect(resolution).toMatchObject({ invokeBonus: 2, total: 5 });
    expect(after.characters.kell!.consequences.mild!.freeInvokes).toBe(0);
  });
});

describe("create an advantage (Fate Core p. 136)", () => {
  const advantage = (extra: Record<string, unknown> = {}) =>
    command({
      kind: "action",
      characterId: "mara",
      action: "create_advantage",
      skill: "Notice",
      aspectName: "High Ground",
      opposition: 2,
      ...extra,
    });

  it("given a scene too full to take another aspect, then a roll is refused before it is rolled", () => {
    const roomy = seedUniverse();
    expect(fullSceneRefusal(roomy, overcome())).toBeNull();
    // a turn that changes the scene makes a new one
    const state = { ...roomy, scene: { ...roomy.scene, aspects: { ...roomy.scene.aspects } } };
    for (let i = 0; i < 300; i++)
      state.scene.aspects[`crowd-${i}`] = {
        id: `crowd-${i}`,
        name: `Crowd ${i}`,
        freeInvokes: 0,
        boost: false,
        createdBy: null,
        sourcePosition: 1,
      };
    expect(fullSceneRefusal(state, overcome())).toMatchObject({ code: "invalid_value" });
    expect(fullSceneRefusal(state, advantage({}))).toMatchObject({ code: "invalid_value" });
    expect(
      fullSceneRefusal(state, command({ kind: "custom", characterId: "mara", text: "waits" })),
    ).toBeNull();
  });

  it("given a hidden roll, then it may neither invoke nor create an advantage, whose cost or gain everyone reads", () => {
    const state = seedUniverse();
    const hidden = (extra: Record<string, unknown>) => advantage({ hidden: true, ...extra });
    for (const named of [
      { aspectName: "Secret Trapdoor" },
      { aspectName: undefined, description: "the trapdoor under the altar" },
      // an aspect the scene has: its free invokes would tell the outcome
      { aspectName: " crowded DOCKS " },
      { target: { type: "aspect", id: "fog" } },
    ])
      expect(hiddenRollRefusal(hidden(named))).toMatchObject({ code: "not_allowed" });
    const invoking = { invokes: [{ aspect: "fog", effect: "bonus", payment: "free_invoke" }] };
    expect(hiddenRollRefusal(overcome({ hidden: true, ...invoking }))).toMatchObject({ code: "not_allowed" });
    expect(hiddenRollRefusal(overcome({ ...invoking }))).toBeNull();
    expect(hiddenRollRefusal(overcome({ hidden: true }))).toBeNull();
    expect(hiddenRollRefusal(advantage({ aspectName: "Secret Trapdoor" }))).toBeNull();
    // the rules still decide it: a timeline recorded before the check replays as it was
    const { after } = decided(state, hidden({ aspectName: "Secret Trapdoor" }), GM, [1, 0, 0, 0]);
    expect(after.scene.aspects[`aspect-${POSITION}-1`]).toMatchObject({ name: "Secret Trapdoor" });
  });

  it("when she fails, then no aspect is created", () => {
    const { deltas, resolution } = decided(seedUniverse(), advantage(), MARA, [-1, 0, 0, 0]);
    expect(resolution!.outcome).toBe("fail");
    expect(deltas).toEqual([]);
  });

  it("when she ties, then she gets a boost, which is not canon", () => {
    const { after } = decided(seedUniverse(), advantage(), MARA, [0, 0, 0, 0]);
    expect(after.scene.aspects[`aspect-${POSITION}-1`]).toMatchObject({
      name: "High Ground",
      boost: true,
      freeInvokes: 1,
    });
    expect(factsById(after)).toEqual({});
  });

  it("when she succeeds, then the aspect has one free invoke and becomes a canon fact", () => {
    const { after, events } = decided(seedUniverse(), advantage(), MARA, [1, 0, 0, 0]);
    const id = `aspect-${POSITION}-1`;
    expect(after.scene.aspects[id]).toMatchObject({
      name: "High Ground",
      boost: false,
      freeInvokes: 1,
      createdBy: "mara",
    });
    expect(readFact(after, id)).toMatchObject({
      id,
      type: "aspect",
      confidence: 1,
      sourcePosition: POSITION,
      supersededAt: null,
    });
    expect(readFact(after, id)!.value).toMatchObject({ name: "High Ground", sceneId: "scene-0" });
    expect(events.some((event) => event.major)).toBe(false);
  });

  it("when she succeeds with style, then two free invokes, and the event is major", () => {
    const { after, events } = decided(seedUniverse(), advantage(), MARA, [1, 1, 1, 0]);
    expect(after.scene.aspects[`aspect-${POSITION}-1`]!.freeInvokes).toBe(2);
    expect(events.find((event) => event.type === "aspect_created")!.major).toBe(true);
  });

  it.each([
    [[-1, 0, 0, 0], 0],
    [[0, 0, 0, 0], 1],
    [[1, 0, 0, 0], 1],
    [[1, 1, 1, 0], 2],
  ])("on an aspect already in the scene, dice %j add %i free invokes", (dice, added) => {
    const { after } = decided(
      seedUniverse(),
      advantage({ target: { type: "aspect", id: "docks" } }),
      MARA,
      dice,
    );
    expect(after.scene.aspects.docks!.freeInvokes).toBe(added);
    expect(Object.keys(after.scene.aspects)).toEqual(["fog", "docks"]);
  });

  it("naming an aspect the scene already has works that aspect instead of making a second one", () => {
    const { after, events } = decided(
      seedUniverse(),
      advantage({ aspectName: "  crowded DOCKS " }),
      MARA,
      [1, 1, 1, 0],
    );
    expect(after.scene.aspects.docks!.freeInvokes).toBe(2);
    expect(Object.keys(after.scene.aspects)).toEqual(["fog", "docks"]);
    expect(events.map((event) => event.type)).toContain("free_invokes");
  });

  it("a boost of the same name is not worked: a success makes the aspect beside it", () => {
    const state = seedUniverse();
    const withBoost = {
      ...state,
      scene: {
        ...state.scene,
        aspects: {
          ...state.scene.aspects,
          edge: {
            id: "edge",
            name: "High Ground",
            freeInvokes: 1,
            boost: true,
            createdBy: "kell",
            sourcePosition: 1,
          },
        },
      },
    };
    const { after } = decided(withBoost, advantage(), MARA, [1, 0, 0, 0]);
    expect(after.scene.aspects.edge!.freeInvokes).toBe(1);
    expect(after.scene.aspects[`aspect-${POSITION}-1`]).toMatchObject({ name: "High Ground", boost: false });
  });

  it("an aspect target that does not exist is refused", () => {
    rejected(
      seedUniverse(),
      advantage({ target: { type: "aspect", id: "nowhere" } }),
      MARA,
      "unknown_target",
    );
  });
});

describe("attack (Fate Core pp. 140, 160–167)", () => {
  const attack = (
    target: Target | { type: string; id?: string } | undefined,
    extra: Record<string, unknown> = {},
  ) =>
    command({
      kind: "action",
      characterId: "mara",
      action: "attack",
      skill: "Fight",
      target: target as Target,
      ...extra,
    });

  it("given the Marsh Bandit defending at +1, when Mara hits with Fight +3 and rolls 0, then he checks his 2-box", () => {
    const { after, resolution, kind, events } = decided(
      seedUniverse(),
      attack({ type: "npc", id: "bandit" }),
      MARA,
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    expect(resolution).toMatchObject({ total: 3, opposition: 1, shifts: 2, outcome: "success" });
    expect(readNpc(after, "bandit")!.stress).toEqual([false, true]);
    expect(after.mode).toBe("conflict");
    expect(kind).toBe("combat");
    expect(events.map((event) => event.type)).toContain("conflict_started");
  });

  it("given the bandit's boxes all checked, when hit again, then he is taken out: a major event, and the fight ends", () => {
    const state = seedUniverse();
    state.mode = "conflict";
    readNpc(state, "bandit")!.stress = [true, true];
    const { after, events } = decided(
      state,
      attack({ type: "npc", id: "bandit" }),
      MARA,
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    expect(readNpc(after, "bandit")!.takenOut).toBe(true);
    const out = events.find((event) => event.type === "taken_out")!;
    expect(out).toMatchObject({ major: true, description: "Mara takes Marsh Bandit out" });
    expect(after.world.majorEvents).toEqual([
      { position: POSITION, characterId: "mara", description: "Mara takes Marsh Bandit out" },
    ]);
    expect(after.mode).toBe("scene");
    expect(events.map((event) => event.type)).toContain("conflict_ended");
  });

  it("given Kell with three fresh boxes, when hit for 4, then a mild consequence and box 2 absorb it, with a free invoke for Mara", () => {
    const state = seedUniverse();
    state.characters.kell = sampleCharacter("kell", "player-2", "Kell", {
      skills: { Athletics: 0, Fight: 0 },
    });
    const { after } = decided(
      state,
      attack({ type: "character", id: "kell" }),
      MARA,
      [1, 0, 0, 0, 0, 0, 0, 0],
    );
    expect(after.characters.kell!.stress.physical).toEqual([false, true, false]);
    expect(after.characters.kell!.consequences.mild).toEqual({
      aspect: "Bruised and Winded",
      freeInvokes: 1,
      sourcePosition: POSITION,
    });
  });

  it("a Provoke attack lands on the mental track", () => {
    const state = seedUniverse();
    state.characters.mara!.skills.Provoke = 4;
    const { after } = decided(
      state,
      attack({ type: "character", id: "kell" }, { skill: "Provoke" }),
      MARA,
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    // Kell's Will +1 against Mara's Provoke +4: 3 shifts, box 3 of the mental track.
    expect(after.characters.kell!.stress).toEqual({
      physical: [false, false, false],
      mental: [false, false, true],
    });
  });

  it("when the attack ties, then Mara gains a boost instead of harm", () => {
    const { after } = decided(
      seedUniverse(),
      attack({ type: "npc", id: "bandit" }),
      MARA,
      [-1, -1, 0, 0, 0, 0, 0, 0],
    );
    expect(readNpc(after, "bandit")!.stress).toEqual([false, false]);
    expect(after.scene.aspects[`aspect-${POSITION}-1`]).toMatchObject({
      name: "Opening on Marsh Bandit",
      boost: true,
    });
  });

  it("attacking Old Brannoc turns him hostile towards Mara, and canon remembers it", () => {
    const { after } = decided(
      seedUniverse(),
      attack({ type: "npc", id: "brannoc" }),
      MARA,
      [-1, -1, -1, -1, 0, 0, 0, 0],
    );
    expect(readNpc(after, "brannoc")!.attitudes.mara).toBe("hostile");
    expect(readFact(after, "relationship-brannoc-mara")).toMatchObject({
      type: "relationship",
      confidence: 1,
      sourcePosition: POSITION,
      value: { attitude: "hostile", previous: "neutral" },
    });
  });

  it("refuses an attack on nobody, on herself, on the fallen and on strangers", () => {
    rejected(seedUniverse(), attack(undefined), MARA, "invalid_action");
    rejected(seedUniverse(), attack({ type: "scene" }), MARA, "invalid_action");
    rejected(seedUniverse(), attack({ type: "character", id: "mara" }), MARA, "invalid_action");
    const state: UniverseState = seedUniverse();
    readNpc(state, "bandit")!.takenOut = true;
    rejected(state, attack({ type: "npc", id: "bandit" }), MARA, "taken_out");
    rejected(seedUniverse(), attack({ type: "npc", id: "kraken" }), MARA, "unknown_target");
    rejected(seedUniverse(), attack({ type: "character", id: "ghost" }), MARA, "unknown_target");
  });
});

describe("a roll hidden from the table (a game master's), concealed", () => {
  const secretly = (extra: Record<string, unknown>) =>
    command({
      kind: "action",
      characterId: "mara",
      action: "attack",
      skill: "Fight",
      hidden: true,
      concealed: true,
      ...extra,
    });

  it("takes the bandit out, but writes no major event: its words are the hidden turn's", () => {
    const state = seedUniverse();
    state.mode = "conflict";
    readNpc(state, "bandit")!.stress = [true, true];
    const attack = secretly({ action: "attack", target: { type: "npc", id: "bandit" } });
    const { after, events } = decided(state, attack, GM, [0, 0, 0, 0, 0, 0, 0, 0]);
    expect(readNpc(after, "bandit")!.takenOut).toBe(true);
    expect(events.find((event) => event.type === "taken_out")).toBeDefined();
    expect(after.world.majorEvents).toEqual([]);
  });

  it("gains no boost, whose name would tell its outcome on the scene everyone reads", () => {
    const tie = decided(
      seedUniverse(),
      secretly({ action: "attack", target: { type: "npc", id: "bandit" } }),
      GM,
      [-1, -1, 0, 0, 0, 0, 0, 0],
    );
    expect(tie.resolution!.outcome).toBe("tie");
    const style = decided(
      seedUniverse(),
      secretly({ action: "overcome", skill: "Athletics", description: "the gate", opposition: 2 }),
      GM,
      [1, 1, 1, 0],
    );
    expect(style.resolution!.outcome).toBe("success_with_style");
    const counter = decided(
      seedUniverse(),
      secretly({ action: "defend", skill: "Athletics", opposition: -2 }),
      GM,
      [1, 1, 1, 0],
    );
    expect(counter.resolution!.outcome).toBe("success_with_style");
    for (const { after } of [tie, style, counter]) expect(after.scene).toEqual(seedUniverse().scene);
  });

  it("recorded before rolls were concealed, re-executes with the effects it had", () => {
    const old = decided(
      seedUniverse(),
      secretly({ action: "overcome", skill: "Athletics", opposition: 2, concealed: undefined }),
      GM,
      [1, 1, 1, 0],
    );
    expect(Object.values(old.after.scene.aspects)).toContainEqual(
      expect.objectContaining({ name: "Mara's Momentum", boost: true }),
    );
  });

  it("leaves the NPC's attitudes, canon and the time the table last saw him as they were", () => {
    const before = seedUniverse();
    const attacked = decided(
      before,
      secretly({ action: "attack", target: { type: "npc", id: "brannoc" } }),
      GM,
      [-1, -1, -1, -1, 0, 0, 0, 0],
    );
    const charmed = decided(
      before,
      secretly({ action: "overcome", skill: "Rapport", target: { type: "npc", id: "brannoc" } }),
      GM,
      [1, 1, 1, 0, -1, -1, 0, 0],
    );
    expect(charmed.resolution!.shifts).toBeGreaterThan(0);
    for (const { after } of [attacked, charmed]) {
      expect(readNpc(after, "brannoc")).toEqual(readNpc(before, "brannoc"));
      expect(readFact(after, "relationship-brannoc-mara")).toBeUndefined();
    }
  });
});

describe("winning people over", () => {
  it("given Brannoc neutral, when Mara overcomes him with Rapport, then he becomes friendly towards her", () => {
    const cmd = command({
      kind: "action",
      characterId: "mara",
      action: "overcome",
      skill: "Rapport",
      target: { type: "npc", id: "brannoc" },
    });
    // her roll, then his (active opposition)
    const { after, events } = decided(seedUniverse(), cmd, MARA, [1, 1, 1, 0, -1, -1, 0, 0]);
    expect(readNpc(after, "brannoc")!.attitudes.mara).toBe("friendly");
    expect(events.find((event) => event.type === "attitude_changed")!.description).toBe(
      "Old Brannoc is now friendly towards Mara (was neutral)",
    );
  });
});
