import { describe, expect, it } from "vitest";
import { evolve, SPECTATOR, type Turn, type UniverseState } from "@loom/shared";
import { simulateCampaign } from "@loom/shared/testing";
import { memberTurn, syncAspect, syncScene, syncSceneFields, touched } from "./projection.ts";
import { UniverseRoomState } from "./room-state.ts";

const turn = (paths: string[]): Turn =>
  ({ deltas: paths.map((path) => ({ op: "set", path, value: 1 })) }) as unknown as Turn;

/** The synced scene as plain data, to compare two projections. */
function sceneOf(room: UniverseRoomState): unknown {
  const { id, title, location, summary, mode } = room.scene;
  const aspects = [...room.scene.aspects.entries()]
    .map(([key, a]) => [key, a.id, a.name, a.freeInvokes, a.boost])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return { id, title, location, summary, mode, aspects };
}

describe("projection of the scene", () => {
  it("tells apart the scene's fields, single aspects and a whole new scene", () => {
    const changed = touched(
      turn(["/characters/kell~1x/fatePoints", "/scene/aspects/aspect-3/freeInvokes", "/scene/title"]),
    );
    expect(changed.characters).toEqual(new Set(["kell/x"]));
    expect(changed.aspects).toEqual(new Set(["aspect-3"]));
    expect(changed).toMatchObject({ sceneFields: true, wholeScene: false });
    expect(touched(turn(["/mode"]))).toMatchObject({ sceneFields: true, wholeScene: false });
    expect(touched(turn(["/scene"])).wholeScene).toBe(true);
    expect(touched(turn(["/scene/aspects"])).wholeScene).toBe(true);
    expect(touched(turn(["/world/facts/x"]))).toMatchObject({ sceneFields: false, wholeScene: false });
  });

  it("syncing only what each turn touched ends where a full sync of every turn ends", () => {
    const campaign = simulateCampaign({ seed: 11, turns: 600 });
    let state: UniverseState = campaign.genesis;
    const partial = new UniverseRoomState();
    const full = new UniverseRoomState();
    syncScene(partial, state);
    let aspectTurns = 0;
    for (const played of campaign.turns) {
      state = evolve(state, played.deltas);
      const changed = touched(played);
      if (changed.wholeScene) syncScene(partial, state);
      else {
        if (changed.sceneFields) syncSceneFields(partial, state);
        for (const id of changed.aspects) syncAspect(partial, state, id);
      }
      if (changed.aspects.size > 0) aspectTurns += 1;
      syncScene(full, state);
      expect(sceneOf(partial), `after turn ${played.position}`).toEqual(sceneOf(full));
    }
    // the campaign exercised what is compared: aspects came and went, scenes changed
    expect(aspectTurns).toBeGreaterThan(20);
    expect(campaign.turns.some((t) => touched(t).wholeScene)).toBe(true);
  });
});

describe("a member's turn", () => {
  it("leaves out the deltas and the command's connection key, and keeps its sequence number", () => {
    // given an action as the authority records it, with the key a resent command is known by
    const input = { kind: "custom", characterId: "c1", text: "waves", clientKey: "p1:r1", seq: 7 };
    const recorded = {
      position: 3,
      input,
      events: [],
      resolution: null,
      deltas: [{ op: "set", path: "/x", value: 1 }],
    };
    // when it is viewed for a member
    const viewed = memberTurn(recorded as unknown as Turn, SPECTATOR);
    // then the key and the deltas are not in it, the rest of the input is, and the record is untouched
    expect(viewed.input).toEqual({ kind: "custom", characterId: "c1", text: "waves", seq: 7 });
    expect(viewed.deltas).toEqual([]);
    expect(recorded.input.clientKey).toBe("p1:r1");
  });
});
