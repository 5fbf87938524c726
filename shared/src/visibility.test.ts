import { readNpc, npcPath } from "./world-records.ts";
import { describe, expect, it } from "vitest";
import { decide, type DecidableCommand } from "./decide.ts";
import { evolve } from "./evolve.ts";
import { isRejection } from "./rejection.ts";
import { commandSchema, type CommandInput } from "./command.ts";
import type { UniverseState } from "./state.ts";
import { scriptedDice } from "./testing/dice.ts";
import { sampleCharacter, seedUniverse } from "./testing/universe.ts";
import type { Actor } from "./rules/context.ts";
import type { Turn } from "./turn.ts";
import {
  GAME_MASTER,
  isHiddenTurn,
  ownerOnlyCharacters,
  SPECTATOR,
  viewDelta,
  viewTurn,
  type Viewer,
} from "./visibility.ts";

const PRIVATE = "Mara's sister is the smuggler queen";
const GM_NOTE = "Brannoc sold the lighthouse keys";
const GM: Actor = { kind: "gm", playerId: "gm-1" };
const SYSTEM: Actor = { kind: "system", playerId: "player-9" };

const ownerOf = (...characterIds: string[]): Viewer => ({
  role: "player",
  owns: (id) => characterIds.includes(id),
});
const OTHER_PLAYER = ownerOf("kell");

/** Given a state, when `actor` runs `command` at `position`, then this is the turn it makes. */
function turnOf(
  state: UniverseState,
  command: DecidableCommand,
  actor: Actor,
  dice: number[] = [],
  position = 7,
  timeline: Turn[] = [],
): Turn {
  const decision = decide(state, command, {
    position,
    now: "2026-01-01T18:00:00.000Z",
    random: scriptedDice(...dice),
    actor,
    timeline,
  });
  if (isRejection(decision)) throw new Error(decision.message);
  return {
    universeId: "u1",
    position,
    id: `t${position}`,
    runId: null,
    characterId: "characterId" in command ? command.characterId : null,
    playerId: actor.playerId,
    actor: actor.kind,
    kind: decision.kind,
    input: command,
    resolution: decision.resolution,
    events: decision.events,
    deltas: decision.deltas,
    status: "applied",
    narration: null,
    createdAt: "2026-01-01T18:00:00.000Z",
  };
}

const parse = (input: CommandInput) => commandSchema.parse(input);
const seen = (turn: Turn, viewer: Viewer) => JSON.stringify(viewTurn(turn, viewer));

describe("visibility of turns", () => {
  it("a joining character's private notes reach its owner and GMs; its GM notes reach GMs only", () => {
    // given a character with a private note and a GM note joining the universe
    const state = seedUniverse({ characters: 0 });
    const mara = sampleCharacter("mara", "player-9", "Mara", {
      private: { notes: PRIVATE, secrets: ["s3cret"] },
      gmNotes: GM_NOTE,
    });
    const turn = turnOf(state, { kind: "add_character", character: mara }, SYSTEM);
    // then the secrets sit both in the input and in the whole-character delta
    expect(JSON.stringify(turn.input)).toContain(PRIVATE);
    expect(JSON.stringify(turn.deltas)).toContain(GM_NOTE);

    for (const viewer of [SPECTATOR, OTHER_PLAYER]) {
      const text = seen(turn, viewer);
      expect(text).not.toContain(PRIVATE);
      expect(text).not.toContain("s3cret");
      expect(text).not.toContain(GM_NOTE);
      expect(text).toContain("Mara, Oathsworn Wanderer");
    }
    const owner = seen(turn, ownerOf("mara"));
    expect(owner).toContain(PRIVATE);
    expect(owner).not.toContain(GM_NOTE);
    expect(viewTurn(turn, GAME_MASTER)).toBe(turn);
    expect(ownerOnlyCharacters(turn)).toEqual(["mara"]);
  });

  it("a GM's raw deltas in a world event's input and its deltas lose their GM notes by value", () => {
    const state = seedUniverse();
    const npc = { ...readNpc(state, "brannoc")!, gmNotes: GM_NOTE };
    const turn = turnOf(
      state,
      parse({
        kind: "world_event",
        text: "Brannoc returns from the sea",
        deltas: [
          { op: "set", path: "/world/npcs/brannoc", value: npc },
          { op: "set", path: "/characters/mara/gmNotes", value: `${GM_NOTE} (again)` },
          { op: "set", path: "/characters/mara/private/notes", value: PRIVATE },
        ],
      }),
      GM,
    );
    expect(JSON.stringify(turn.input)).toContain(GM_NOTE);
    for (const viewer of [SPECTATOR, OTHER_PLAYER]) {
      const text = seen(turn, viewer);
      expect(text).not.toContain(GM_NOTE);
      expect(text).not.toContain(PRIVATE);
      expect(text).toContain("Brannoc returns from the sea");
    }
    const owner = viewTurn(turn, ownerOf("mara"));
    expect(JSON.stringify(owner)).toContain(PRIVATE);
    expect(JSON.stringify(owner)).not.toContain(GM_NOTE);
    // the deltas addressed to a secret are dropped; the NPC stays, without its GM notes
    const npcDelta = owner.deltas.find((delta) => delta.path === npcPath("brannoc"));
    expect(npcDelta?.value).toMatchObject({ name: "Old Brannoc" });
    expect(npcDelta?.value).not.toHaveProperty("gmNotes");
  });

  it("a world event's count of raw deltas is shown only when none is withheld: it would count the secrets", () => {
    const state = seedUniverse();
    const event = (deltas: Array<{ op: "set"; path: string; value: unknown }>) =>
      turnOf(state, parse({ kind: "world_event", text: "The fog lifts", deltas }), GM);
    const secret = event([
      { op: "set", path: "/characters/mara/gmNotes", value: GM_NOTE },
      { op: "set", path: "/scene/summary", value: "Clear skies" },
    ]);
    const counted = (turn: Turn, viewer: Viewer) =>
      viewTurn(turn, viewer).events.find((e) => e.type === "world_event")?.data.deltas;
    expect(counted(secret, GAME_MASTER)).toBe(2);
    for (const viewer of [SPECTATOR, OTHER_PLAYER, ownerOf("mara")])
      expect(counted(secret, viewer)).toBeUndefined();
    const open = event([{ op: "set", path: "/scene/summary", value: "Clear skies" }]);
    expect(counted(open, SPECTATOR)).toBe(1);
  });

  it("prev values are redacted as well as values: undoing a character's arrival hides what left", () => {
    const state = seedUniverse();
    state.characters.mara!.private.notes = PRIVATE;
    const removal = { op: "unset" as const, path: "/characters/mara", prev: state.characters.mara };
    expect(JSON.stringify(viewDelta(removal, SPECTATOR))).not.toContain(PRIVATE);
    expect(JSON.stringify(viewDelta(removal, ownerOf("mara")))).toContain(PRIVATE);
    const wholeMap = { op: "set" as const, path: "/characters", value: state.characters };
    expect(JSON.stringify(viewDelta(wholeMap, ownerOf("kell")))).not.toContain(PRIVATE);
    expect(JSON.stringify(viewDelta(wholeMap, ownerOf("mara")))).toContain(PRIVATE);
    expect(
      viewDelta({ op: "set", path: "/characters/mara/private/notes", value: "x" }, SPECTATOR),
    ).toBeNull();
    // a `private` member outside a character has no owner: game masters only
    const fact = { op: "set" as const, path: "/canon/facts/f1", value: { value: { private: PRIVATE } } };
    expect(JSON.stringify(viewDelta(fact, ownerOf("mara")))).not.toContain(PRIVATE);
  });

  it("a hidden roll shows only that it happened: no input, dice, events (follow-ons too) or deltas", () => {
    const state = seedUniverse();
    // a hidden attack that takes the bandit out: the follow-on events are not marked hidden
    const attack = parse({
      kind: "action",
      action: "attack",
      characterId: "mara",
      skill: "Fight",
      target: { type: "npc", id: "bandit" },
      opposition: 0,
      description: "the ambush behind the nets",
      hidden: true,
    });
    const turn = turnOf(state, attack, GM, [1, 1, 1, 1]);
    expect(turn.events.some((event) => !event.hidden)).toBe(true);
    expect(isHiddenTurn(turn)).toBe(true);
    for (const viewer of [SPECTATOR, OTHER_PLAYER, ownerOf("mara")]) {
      const view = viewTurn(turn, viewer);
      expect(view).toMatchObject({
        input: { kind: "action", hidden: true },
        resolution: null,
        events: [],
        deltas: [],
      });
      expect(JSON.stringify(view)).not.toContain("ambush");
      expect(JSON.stringify(view)).not.toContain("Bandit");
    }
    expect(viewTurn(turn, GAME_MASTER)).toBe(turn);

    // an undo of the hidden roll is hidden as well: its words and deltas are the roll's
    const after = evolve(state, turn.deltas);
    const undoTurn = turnOf(after, { kind: "undo", targetPosition: 7 }, GM, [], 8, [turn]);
    expect(isHiddenTurn(undoTurn)).toBe(true);
    expect(JSON.stringify(viewTurn(undoTurn, SPECTATOR))).not.toContain("ambush");
  });

  it("a turn with nothing to withhold is the same object for everyone", () => {
    const turn = turnOf(
      seedUniverse(),
      parse({ kind: "action", action: "overcome", characterId: "mara", skill: "Athletics", opposition: 1 }),
      { kind: "player", playerId: "player-1" },
      [1, 0, 0, -1],
    );
    for (const viewer of [SPECTATOR, OTHER_PLAYER, ownerOf("mara"), GAME_MASTER])
      expect(viewTurn(turn, viewer)).toBe(turn);
    expect(ownerOnlyCharacters(turn)).toEqual([]);
  });
});
