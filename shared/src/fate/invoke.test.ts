import { describe, expect, it } from "vitest";
import { commandSchema, type Invoke } from "../command.ts";
import type { Actor } from "../rules/context.ts";
import type { Aspect, UniverseState } from "../state.ts";
import { seedUniverse } from "../testing/universe.ts";
import { freeInvokeRefusal } from "./invoke.ts";

const MARA: Actor = { kind: "player", playerId: "player-1" };
const KELL: Actor = { kind: "player", playerId: "player-2" };
const GM: Actor = { kind: "gm", playerId: "gm-1" };

/** The sample universe with one more scene aspect, created by `createdBy`. */
function withAspect(name: string, createdBy: string | null, boost = false): UniverseState {
  const state = seedUniverse();
  const aspect: Aspect = { id: "made", name, freeInvokes: 2, boost, createdBy, sourcePosition: 4 };
  return { ...state, scene: { ...state.scene, aspects: { ...state.scene.aspects, made: aspect } } };
}

function acting(characterId: string, ...invokes: Invoke[]) {
  return commandSchema.parse({
    kind: "action",
    characterId,
    action: "overcome",
    skill: "Athletics",
    opposition: 2,
    invokes,
  });
}

const free = (aspect: string): Invoke => ({ aspect, effect: "bonus", payment: "free_invoke" });

describe("who spends a free invoke (Fate Core p. 68)", () => {
  it("given Mara created Fog Cover, when Kell spends one of its free invokes, then he is refused", () => {
    const refusal = freeInvokeRefusal(
      withAspect("Fog Cover", "mara"),
      KELL,
      acting("kell", free("fog cover")),
    );
    expect(refusal).toMatchObject({ code: "not_your_free_invoke" });
    expect(refusal!.message).toContain("Mara's");
  });

  it("given Mara's boost, when Kell spends it, then he is refused", () => {
    const state = withAspect("Mara's Momentum", "mara", true);
    expect(freeInvokeRefusal(state, KELL, acting("kell", free("made")))).toMatchObject({
      code: "not_your_free_invoke",
    });
  });

  it("given Mara created Fog Cover, when Kell pays a fate point to invoke it, then he may", () => {
    const paid: Invoke = { aspect: "Fog Cover", effect: "bonus", payment: "fate_point" };
    expect(freeInvokeRefusal(withAspect("Fog Cover", "mara"), KELL, acting("kell", paid))).toBeNull();
  });

  it("when Mara spends her own free invoke, or a game master spends it for anyone, then neither is refused", () => {
    const state = withAspect("Fog Cover", "mara");
    expect(freeInvokeRefusal(state, MARA, acting("mara", free("Fog Cover")))).toBeNull();
    expect(freeInvokeRefusal(state, GM, acting("kell", free("Fog Cover")))).toBeNull();
  });

  it("given an aspect a game master placed, when any character spends its free invoke, then it is theirs to spend", () => {
    expect(freeInvokeRefusal(seedUniverse(), KELL, acting("kell", free("Thick Fog")))).toBeNull();
  });

  it("given one of several invokes is another's, then the command is refused as a whole", () => {
    const state = withAspect("Fog Cover", "mara");
    const command = acting("kell", free("Thick Fog"), free("Fog Cover"));
    expect(freeInvokeRefusal(state, KELL, command)).toMatchObject({ code: "not_your_free_invoke" });
  });
});
