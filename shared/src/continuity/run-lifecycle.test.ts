import { describe, expect, it } from "vitest";
import { isRejection } from "../rejection.ts";
import {
  canTransition,
  reopenCompletedRun,
  runStateSchema,
  transitionRun,
  type RunState,
} from "./run-lifecycle.ts";

function run(state: RunState) {
  return {
    id: "run_alex_001",
    state,
    completionReason: null as string | null,
    completedAtPosition: null as number | null,
    turnCount: 30,
  };
}

describe("transitionRun", () => {
  it("given an active run, when paused and resumed, then it is active again with everything else kept", () => {
    const paused = transitionRun(run("active"), "paused");
    expect(paused).toEqual({ run: { ...run("active"), state: "paused" } });
    if (isRejection(paused)) throw new Error("paused run rejected");
    expect(transitionRun(paused.run, "active")).toEqual({ run: run("active") });
  });

  it("given an active or paused run, when completed with a reason, then the reason is recorded", () => {
    for (const from of ["active", "paused"] as const) {
      expect(transitionRun(run(from), "completed", " retired ")).toEqual({
        run: { ...run(from), state: "completed", completionReason: "retired" },
      });
    }
    expect(transitionRun(run("active"), "completed", "Sank with the bell tower")).toMatchObject({
      run: { completionReason: "Sank with the bell tower" },
    });
  });

  it("given a run, when completed without a reason, then it is an invalid action", () => {
    expect(transitionRun(run("active"), "completed")).toMatchObject({
      rejected: true,
      code: "invalid_action",
    });
    expect(transitionRun(run("active"), "completed", "  ")).toMatchObject({
      rejected: true,
      code: "invalid_action",
    });
  });

  it("given an abandoned run, when resumed, then it is active; any other move needs the resume first", () => {
    expect(transitionRun(run("abandoned"), "active")).toEqual({ run: run("active") });
    for (const to of ["paused", "completed", "abandoned"] as const) {
      expect(transitionRun(run("abandoned"), to, "victory")).toMatchObject({
        rejected: true,
        code: "run_not_active",
      });
    }
  });

  it("given a completed run, when moved anywhere, then the run is not active", () => {
    for (const to of runStateSchema.options) {
      expect(transitionRun(run("completed"), to, "victory")).toMatchObject({
        rejected: true,
        code: "run_not_active",
      });
    }
  });

  it("given a live run, when moved to the state it is in, then it is an invalid action", () => {
    expect(transitionRun(run("active"), "active")).toMatchObject({ rejected: true, code: "invalid_action" });
    expect(transitionRun(run("paused"), "paused")).toMatchObject({ rejected: true, code: "invalid_action" });
  });

  it("lists exactly the allowed transitions", () => {
    const allowed = runStateSchema.options.flatMap((from) =>
      runStateSchema.options.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed).toEqual([
      "active→paused",
      "active→completed",
      "active→abandoned",
      "paused→active",
      "paused→completed",
      "paused→abandoned",
      "abandoned→active",
    ]);
  });
});

describe("reopenCompletedRun", () => {
  it("given a completed run, when its completing turn is undone, then it is back in play without a reason or position", () => {
    const completed = { ...run("completed"), completionReason: "died", completedAtPosition: 150 };
    expect(reopenCompletedRun(completed)).toEqual({ run: run("active") });
    expect(reopenCompletedRun(completed, "paused")).toEqual({ run: run("paused") });
  });

  it("given a run that is not completed, when reopened, then it is an invalid action", () => {
    expect(reopenCompletedRun(run("abandoned"))).toMatchObject({ rejected: true, code: "invalid_action" });
  });
});
