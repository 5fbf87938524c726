import fc from "fast-check";
import { Packr } from "msgpackr";
import { Protocol } from "../../loadtest/k6/wire.ts";

/**
 * Generated WebSocket frames for a universe room: well-formed messages with hostile values, valid
 * commands with one or more fields mutated, byte-level mutations of valid frames, and noise.
 * Everything is drawn from a seeded fast-check source, so a failing run is repeated by its seed.
 */

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** Keys a hostile client likes: prototype names, pointer syntax, the schemas' own field names. */
const key = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "seq",
      "command",
      "kind",
      "deltas",
      "op",
      "path",
      "value",
      "prev",
      "characterId",
      "position",
      "note",
      "",
    ),
  },
);

const weirdNumber = fc.constantFrom(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  1e308,
  -1e308,
  5e-324,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  -1,
  1.5,
  2 ** 31,
  2 ** 32 + 1,
);

const scalar = fc.oneof(
  fc.integer(),
  fc.double(),
  weirdNumber,
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom("/", "/characters", "/canon/facts/~1x", "~0~1", "../../", "\u0000", "__proto__"),
);

/** A value of any shape, a few levels deep. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

/** Nesting far deeper than any schema allows. */
const deep = fc.integer({ min: 50, max: 600 }).map((depth) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { value };
  return value;
});

/** Large strings, up to just under the transport's 16 KB frame limit (and some past it). */
const huge = fc
  .oneof(
    { weight: 9, arbitrary: fc.integer({ min: 2_000, max: 15_000 }) },
    fc.integer({ min: 17_000, max: 40_000 }),
  )
  .map((length) => "ż".repeat(Math.floor(length / 2)));

const seq = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 2 ** 40 }) },
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: -1n }),
  weirdNumber,
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.constant(undefined),
);

export interface Cast {
  characterId: string;
  otherCharacterId: string;
}

/** Valid commands of every kind for the cast; mutations start from these. */
function templates(cast: Cast): Record<string, unknown>[] {
  const { characterId } = cast;
  return [
    {
      kind: "action",
      action: "overcome",
      characterId,
      skill: "Athletics",
      description: "a ditch",
    },
    { kind: "action", action: "create_advantage", characterId, skill: "Notice", aspectName: "High Ground" },
    {
      kind: "action",
      action: "attack",
      characterId,
      skill: "Fight",
      target: { type: "character", id: cast.otherCharacterId },
    },
    { kind: "action", action: "defend", characterId, skill: "Athletics", opposition: 2, hidden: true },
    { kind: "choice", characterId, optionId: "left", text: "takes the left road" },
    { kind: "custom", characterId, text: "hums an old sea song" },
    { kind: "concede", characterId },
    { kind: "compel", characterId, aspect: "Owes the Salt Guild", text: "the guild calls", accepted: true },
    {
      kind: "world_event",
      text: "the tide turns",
      major: false,
      deltas: [{ op: "set", path: "/canon/facts/tide", value: { type: "world", value: 3, confidence: 1 } }],
    },
    { kind: "scene", title: "The Drowned Chapel", location: "Saltmarsh", summary: "", aspects: ["Low Tide"] },
    { kind: "npc", op: "add", name: "Harbourmaster Quell", gmNotes: "takes bribes", skills: { Will: 2 } },
    { kind: "npc", op: "update", id: "quell", relationship: "friendly" },
    { kind: "location", op: "add", id: "mill", name: "The Tide Mill", region: null },
    { kind: "faction", op: "update", id: "wardens", standing: 2 },
    { kind: "quest", op: "start", title: "Find the Bell", details: "under the marsh" },
    { kind: "aspect", op: "add", name: "Rising Water", freeInvokes: 1 },
    { kind: "milestone", characterId, level: "major", note: "the bell rings" },
  ];
}

/** Sets, deletes or adds one field somewhere inside a value (copies; never edits the template). */
function mutate(
  value: unknown,
  path: number[],
  replacement: unknown,
  mode: "set" | "delete" | "add",
): unknown {
  if (value === null || typeof value !== "object") return replacement;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const keys = Object.keys(copy);
  if (keys.length === 0 || path.length === 0) {
    if (mode === "add" && !Array.isArray(copy)) copy[`x${path.length}`] = replacement;
    return copy;
  }
  const chosen = keys[path[0]! % keys.length]!;
  const target = copy as Record<string, unknown>;
  if (path.length === 1 || target[chosen] === null || typeof target[chosen] !== "object") {
    if (mode === "delete") delete target[chosen];
    else if (mode === "add") target[`${chosen}_`] = replacement;
    else target[chosen] = replacement;
  } else {
    target[chosen] = mutate(target[chosen], path.slice(1), replacement, mode);
  }
  return copy;
}

const mutation = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  replacement: fc.oneof({ weight: 4, arbitrary: anyValue }, deep, huge),
  mode: fc.constantFrom<"set" | "delete" | "add">("set", "set", "delete", "add"),
});

function payloads(cast: Cast): fc.Arbitrary<{ type: string; payload: unknown }> {
  const command = fc.constantFrom(...templates(cast));
  const undo = fc.record(
    { seq, position: fc.oneof(fc.nat({ max: 5_000 }), anyValue) },
    { requiredKeys: ["seq"] },
  );
  const retcon = fc.record({
    seq,
    note: fc.oneof(fc.string({ maxLength: 60 }), anyValue),
    deltas: fc.array(
      fc.record({
        op: fc.constantFrom("set", "unset", "increment", "push", "remove", "copy"),
        path: fc.constantFrom(
          "/canon/facts/tide",
          "/canon/facts/tide/value",
          "/canon/facts/tide/value",
          "/canon/facts/__proto__",
          "/canon/facts/x/value",
          "/canon/recentSummary",
          "/world/flags/storm",
          "/characters",
          "/scene/title",
          "",
          "/",
          "/canon/facts/~1~0",
        ),
        value: anyValue,
      }),
      { maxLength: 4 },
    ),
  });
  const act = fc.record({ seq, command });
  return fc.oneof(
    fc.tuple(act, fc.array(mutation, { maxLength: 3 })).map(([base, changes]) => ({
      type: "act",
      payload: changes.reduce<unknown>((v, m) => mutate(v, m.path, m.replacement, m.mode), base),
    })),
    undo.map((payload) => ({ type: "undo", payload })),
    fc.tuple(retcon, fc.array(mutation, { maxLength: 2 })).map(([base, changes]) => ({
      type: "retcon",
      payload: changes.reduce<unknown>((v, m) => mutate(v, m.path, m.replacement, m.mode), base),
    })),
  );
}

function encodeRoomData(type: unknown, payload: unknown, withPayload = true): Uint8Array {
  const head = packr.pack(type);
  const body = withPayload ? packr.pack(payload) : new Uint8Array(0);
  const frame = new Uint8Array(1 + head.length + body.length);
  frame[0] = Protocol.ROOM_DATA;
  frame.set(head, 1);
  frame.set(body, 1 + head.length);
  return frame;
}

/** Byte-level damage to a frame: flips, truncation, insertion, a different code byte. */
const damage = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
  }),
  fc.record({ kind: fc.constant("code" as const), code: fc.integer({ min: 0, max: 255 }) }),
);

function damaged(frame: Uint8Array, hits: fc.Arbitrary<unknown>[] | unknown[]): Uint8Array {
  let bytes = frame;
  for (const hit of hits as Array<{
    kind: string;
    at?: number;
    bits?: number;
    bytes?: Uint8Array;
    code?: number;
  }>) {
    const at = (hit.at ?? 0) % Math.max(1, bytes.length);
    if (hit.kind === "flip") {
      bytes = bytes.slice();
      bytes[at] = bytes[at]! ^ hit.bits!;
    } else if (hit.kind === "truncate") bytes = bytes.slice(0, Math.max(1, at));
    else if (hit.kind === "insert") {
      const grown = new Uint8Array(bytes.length + hit.bytes!.length);
      grown.set(bytes.slice(0, at));
      grown.set(hit.bytes!, at);
      grown.set(bytes.slice(at), at + hit.bytes!.length);
      bytes = grown;
    } else if (hit.kind === "code") {
      bytes = bytes.slice();
      bytes[0] = hit.code!;
    }
  }
  return bytes;
}

export type FrameKind = "message" | "unknown-type" | "damaged" | "noise" | "no-payload";

/** One frame and what made it; `seat` picks who sends it (gm, player, spectator). */
export interface GeneratedFrame {
  kind: FrameKind;
  seat: "gm" | "player" | "spectator";
  bytes: Uint8Array;
}

export function frames(cast: Cast): fc.Arbitrary<GeneratedFrame> {
  const seat = fc.constantFrom<GeneratedFrame["seat"]>("gm", "gm", "player", "player", "spectator");
  const message = payloads(cast);
  const unknownType = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), huge, anyValue);
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .record({ seat, m: message })
        .map(({ seat, m }) => ({ kind: "message" as const, seat, bytes: encodeRoomData(m.type, m.payload) })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ seat, type: unknownType, payload: anyValue }).map(({ seat, type, payload }) => ({
        kind: "unknown-type" as const,
        seat,
        bytes: encodeRoomData(type, payload),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ seat, type: fc.constantFrom("act", "undo", "retcon") })
        .map(({ seat, type }) => ({
          kind: "no-payload" as const,
          seat,
          bytes: encodeRoomData(type, undefined, false),
        })),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({ seat, m: message, hits: fc.array(damage, { minLength: 1, maxLength: 3 }) })
        .map(({ seat, m, hits }) => ({
          kind: "damaged" as const,
          seat,
          bytes: damaged(encodeRoomData(m.type, m.payload), hits),
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ seat, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) })
        // a lone LEAVE_ROOM byte is a polite goodbye, not noise; it is covered by damaged frames
        .filter(({ bytes }) => bytes[0] !== Protocol.LEAVE_ROOM)
        .map(({ seat, bytes }) => ({ kind: "noise" as const, seat, bytes })),
    },
  );
}
