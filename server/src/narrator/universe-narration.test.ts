import { describe, expect, it } from "vitest";
import type { Narration, NarrationMessage, Turn } from "@loom/shared";
import { saltMarches, turnFixture } from "@loom/shared/testing";
import { UniverseNarration, type UniverseNarrationOptions } from "./universe-narration.ts";
import { NarratorError, type NarrationRequest, type Narrator, type NarratorOutput } from "./narrator.ts";
import type { Audience } from "./narrator.ts";
import { TemplateNarrator } from "./template-narrator.ts";

/** A narrator the test drives: each request waits until the test answers it. */
class ScriptedNarrator implements Narrator {
  readonly name = "scripted";
  readonly requests: Array<{
    request: NarrationRequest;
    answer: (text: string) => void;
    fail: (reason: "timeout" | "error") => void;
  }> = [];

  narrate(request: NarrationRequest): Promise<NarratorOutput> {
    return new Promise((resolve, reject) => {
      request.signal.addEventListener("abort", () => reject(new NarratorError("closed", "aborted")));
      this.requests.push({
        request,
        answer: (text) => {
          request.onChunk(text);
          resolve({ text, model: "m", promptHash: "h", tokens: null, endpoint: "e", parameters: {} });
        },
        fail: (reason) => reject(new NarratorError(reason, reason)),
      });
    });
  }
}

function setup(options: Partial<UniverseNarrationOptions> = {}) {
  const narrator = new ScriptedNarrator();
  const records = new Map<number, Narration[]>();
  const sent: Array<{ message: NarrationMessage; audience: Audience; first: boolean }> = [];
  const narration = new UniverseNarration({
    universeId: "salt-marches",
    branchPosition: 0,
    narrator,
    concurrency: 2,
    backlog: 3,
    record: (position, record) => {
      records.set(position, [...(records.get(position) ?? []), record]);
      return Promise.resolve();
    },
    send: (message, audience, first) => sent.push({ message, audience, first }),
    ...options,
  });
  return { narrator, records, sent, narration };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const turn = (position: number, extra: Partial<Parameters<typeof turnFixture>[0]> = {}): Turn =>
  turnFixture({ position, characterId: "mara", ...extra });

describe("narration of one universe", () => {
  it("sends the first chunk at once, batches the next ones, and the rest rides on done", async () => {
    const { narrator, sent, narration } = setup();
    narration.enqueue(turn(1), saltMarches(), []);
    await tick();
    const { request } = narrator.requests[0]!;
    request.onChunk("Mara ");
    request.onChunk("wades ");
    request.onChunk("on");
    expect(sent.map((s) => s.message.chunk)).toEqual(["Mara "]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sent.map((s) => s.message.chunk)).toEqual(["Mara ", "wades on"]);
    request.onChunk(", ");
    narrator.requests[0]!.answer("slowly.");
    await tick();
    expect(sent.map((s) => s.message)).toEqual([
      { position: 1, at: 0, chunk: "Mara ", done: false },
      { position: 1, at: 5, chunk: "wades on", done: false },
      {
        position: 1,
        at: 13,
        chunk: ", slowly.",
        done: true,
        text: "slowly.",
        narrator: "scripted",
        fallback: null,
      },
    ]);
    // only the first piece is marked to leave at once; the others may wait for the room's next write
    expect(sent.map((s) => s.first)).toEqual([true, false, false]);
  });

  it("narrates after the current loop turn, streams, then records once with the audit fields", async () => {
    const { narrator, records, sent, narration } = setup();
    narration.enqueue(turn(1), saltMarches(), []);
    expect(narrator.requests).toHaveLength(0);
    await tick();
    narrator.requests[0]!.answer("Mara wades on.");
    await tick();
    expect(sent.map((s) => s.message)).toEqual([
      { position: 1, at: 0, chunk: "Mara wades on.", done: false },
      // the pieces spell the recorded text: `done` does not carry it again
      { position: 1, at: 14, chunk: "", done: true, narrator: "scripted", fallback: null },
    ]);
    expect(records.get(1)).toEqual([
      expect.objectContaining({
        text: "Mara wades on.",
        narrator: "scripted",
        fallback: null,
        audience: "table",
      }),
    ]);
    // a position is narrated once: enqueuing it again does nothing
    narration.enqueue(turn(1), saltMarches(), []);
    await tick();
    expect(narrator.requests).toHaveLength(1);
  });

  it("falls back to the template when the narrator fails, and says so", async () => {
    const { narrator, records, sent, narration } = setup();
    narration.enqueue(turn(2, { text: "Mara Vell overcomes the gate" }), saltMarches(), []);
    await tick();
    narrator.requests[0]!.fail("timeout");
    await tick();
    const record = records.get(2)![0]!;
    expect(record).toMatchObject({ narrator: "template", fallback: "scripted: timeout", model: null });
    expect(sent.at(-1)!.message).toMatchObject({
      done: true,
      text: record.text,
      fallback: "scripted: timeout",
    });
  });

  it("caps narrations in progress, and tells the oldest turns past the backlog with the template at once", async () => {
    const { narrator, records, narration } = setup();
    for (let position = 1; position <= 7; position++) narration.enqueue(turn(position), saltMarches(), []);
    await tick();
    // the oldest beyond the backlog are told by the template at once; the model takes the newest
    expect(narrator.requests.map((r) => r.request.turn.position)).toEqual([5, 6]);
    await tick();
    expect([...records.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(records.get(1)![0]).toMatchObject({ narrator: "template", fallback: "scripted: backlog" });
    narrator.requests[0]!.answer("Five.");
    await tick();
    await tick();
    expect(narrator.requests.map((r) => r.request.turn.position)).toEqual([5, 6, 7]);
  });

  it("tells a hidden roll to game masters alone", async () => {
    const { narrator, sent, records, narration } = setup();
    narration.enqueue(turn(3, { hidden: true }), saltMarches(), []);
    await tick();
    expect(narrator.requests[0]!.request.viewer).toEqual({ role: "gm" });
    narrator.requests[0]!.answer("In secret.");
    await tick();
    expect(sent.every((s) => s.audience === "gm")).toBe(true);
    expect(records.get(3)![0]!.audience).toBe("gm");
  });

  it("recovers every untold turn of the window, a branch's inherited ones too", async () => {
    const { narrator, narration } = setup({ branchPosition: 2, concurrency: 6, backlog: 10 });
    const told = (position: number) => ({
      ...turn(position),
      narration: { text: "x", narrator: "template", model: null, seed: 1, promptHash: null, tokens: null },
    });
    // turn 5 left untold by a closing owner that recorded turn 6's telling
    const window = [turn(1), turn(2), told(3), turn(4), turn(5), told(6), turn(7)];
    // turns 1 and 2 are the parent's, cut off there: told here, as the parent may never open again
    expect(narration.recover(window, saltMarches())).toBe(5);
    await tick();
    expect(narrator.requests.map((r) => r.request.turn.position)).toEqual([1, 2, 4, 5, 7]);
    // what the branch goes on to make is told as ever; its inherited turns are not told again
    narration.enqueue(turn(2), saltMarches(), window);
    narration.enqueue(turn(8), saltMarches(), window);
    await tick();
    expect(narrator.requests.map((r) => r.request.turn.position)).toEqual([1, 2, 4, 5, 7, 8]);
  });

  it("once an open waits on its closing, leaves the tellings nobody has heard a piece of to the next owner", async () => {
    const { narrator, sent, records, narration } = setup({ concurrency: 4, backlog: 10 });
    for (const position of [1, 2, 3]) narration.enqueue(turn(position), saltMarches(), []);
    await tick();
    expect(narrator.requests).toHaveLength(3);
    narrator.requests[1]!.request.onChunk("Turn two ");
    await tick();
    expect(sent.map((s) => s.message.position)).toContain(2);
    narration.hurry();
    const closed = narration.close(5_000);
    await tick();
    // turn 2 has been heard in part: its telling is waited for and recorded
    narrator.requests[1]!.answer("Turn two goes on.");
    await closed;
    expect([...records.keys()]).toEqual([2]);
    expect(narrator.requests[0]!.request.signal.aborted).toBe(true);
    expect(narrator.requests[2]!.request.signal.aborted).toBe(true);
  });

  it("tells each recovered turn against the state just after it, not the state at the head", async () => {
    const { narrator, narration } = setup({ concurrency: 4, backlog: 10 });
    const start = saltMarches();
    const title = (value: string, prev: string) => [
      { op: "set" as const, path: "/scene/title", value, prev },
    ];
    const window = [
      { ...turn(1), deltas: title("The flooded stair", start.scene.title) },
      { ...turn(2), deltas: title("The sea wall", "The flooded stair") },
    ];
    const head = { ...start, scene: { ...start.scene, title: "The sea wall" } };
    expect(narration.recover(window, head)).toBe(2);
    await tick();
    expect(narrator.requests.map((r) => [r.request.turn.position, r.request.state.scene.title])).toEqual([
      [1, "The flooded stair"],
      [2, "The sea wall"],
    ]);
  });

  it("on close, abandons what does not finish in time unrecorded (the next owner tells it)", async () => {
    const { narrator, records, narration } = setup();
    narration.enqueue(turn(1), saltMarches(), []);
    await tick();
    expect(narrator.requests).toHaveLength(1);
    await narration.close(50);
    expect(records.size).toBe(0);
    narration.enqueue(turn(2), saltMarches(), []);
    await tick();
    expect(narrator.requests).toHaveLength(1);
  });

  it("on close, records a telling the table heard part of as what it heard, once, and leaves the unheard", async () => {
    const { narrator, records, sent, narration } = setup();
    for (const position of [1, 2]) narration.enqueue(turn(position), saltMarches(), []);
    await tick();
    const { request } = narrator.requests[0]!;
    request.onAsk?.({ model: "m", promptHash: "h", endpoint: "e", parameters: { seed: 7 } });
    request.onChunk("The squall ");
    request.onChunk("takes the mast");
    // held back (see ChunkBatcher), then sent; a last piece still held when closing was never heard
    await new Promise((resolve) => setTimeout(resolve, 100));
    request.onChunk("; the hull");
    await narration.close(0);
    // given that the narrator would still answer, nothing more is recorded
    narrator.requests[0]!.answer("A whole other telling.");
    await tick();
    expect([...records.keys()]).toEqual([1]);
    expect(records.get(1)).toHaveLength(1);
    expect(records.get(1)![0]).toMatchObject({
      text: "The squall takes the mast",
      narrator: "scripted",
      model: "m",
      promptHash: "h",
      endpoint: "e",
      tokens: null,
      fallback: "scripted: aborted",
    });
    // the table hears the telling end where the record does
    expect(sent.filter((s) => s.message.position === 1).map((s) => s.message)).toEqual([
      { position: 1, at: 0, chunk: "The squall ", done: false },
      { position: 1, at: 11, chunk: "takes the mast", done: false },
      { position: 1, at: 25, chunk: "", done: true, narrator: "scripted", fallback: "scripted: aborted" },
    ]);
    expect(narrator.requests[1]!.request.signal.aborted).toBe(true);
  });

  it("frees the narrator's slot once a telling is done, while its record still waits", async () => {
    const recorded: Array<() => void> = [];
    const { narrator, narration } = setup({
      concurrency: 1,
      backlog: 10,
      record: () => new Promise<void>((resolve) => recorded.push(resolve)),
    });
    narration.enqueue(turn(1), saltMarches(), []);
    narration.enqueue(turn(2), saltMarches(), []);
    await tick();
    expect(narrator.requests).toHaveLength(1);
    narrator.requests[0]!.answer("Mara wades on.");
    await tick();
    // the first record has not been written, and the second turn is already being told
    expect(recorded).toHaveLength(1);
    expect(narrator.requests.map((r) => r.request.turn.position)).toEqual([1, 2]);
    expect(narration.pending).toBe(2);
    recorded[0]!();
    await tick();
    expect(narration.pending).toBe(1);
  });

  it("tells a turn at once with the template: the record, told to its audience, nothing sent or queued", async () => {
    const told: string[] = [];
    const { sent, records, narration } = setup({
      narrator: new TemplateNarrator(),
      told: (name, _ms, failure) => told.push(`${name}:${failure === null}`),
      now: () => "2026-12-03T14:00:00.000Z",
    });
    const open = narration.tellAtOnce(turn(4), saltMarches());
    expect(open).toMatchObject({ narrator: "template", audience: "table", fallback: null, model: null });
    expect(open!.text.length).toBeGreaterThan(0);
    // the same turn is told the same way: a record is never rolled again
    expect(narration.tellAtOnce(turn(4), saltMarches())!.text).toBe(open!.text);
    expect(narration.tellAtOnce(turn(5, { hidden: true }), saltMarches())!.audience).toBe("gm");
    // a turn that carries its prose is not told again after its acknowledgement
    narration.enqueue({ ...turn(4), narration: open }, saltMarches(), []);
    await tick();
    expect(sent).toEqual([]);
    expect(records.size).toBe(0);
    expect(told).toEqual(["template:true", "template:true", "template:true"]);
  });

  it("tells nothing at once with a narrator that streams, for a branch's inherited turns, or once closing", async () => {
    expect(setup().narration.tellAtOnce(turn(4), saltMarches())).toBeNull();
    const branch = setup({ narrator: new TemplateNarrator(), branchPosition: 4 }).narration;
    expect(branch.tellAtOnce(turn(4), saltMarches())).toBeNull();
    expect(branch.tellAtOnce(turn(5), saltMarches())).not.toBeNull();
    await branch.close(0);
    expect(branch.tellAtOnce(turn(6), saltMarches())).toBeNull();
  });
});
