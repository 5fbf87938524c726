import fc from "fast-check";
import { API, type ApiRoute } from "@loom/shared";
import { anyValue } from "./frames.ts";

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
}

/**
 * Every route of the HTTP contract (`API` in shared/src/api/routes.ts), which
 * test/api-contract.test.ts holds equal to the routes the server registers, so a route added
 * later is fuzzed without anyone remembering to list it here.
 */
export function declaredRoutes(): Route[] {
  return Object.values(API as Record<string, ApiRoute>).map((route) => ({
    method: route.method.toUpperCase() as Route["method"],
    path: route.path,
  }));
}

export interface Known {
  /** Ids that exist, so requests reach past the 404s: universes and runs by the routes that take them. */
  universes: string[];
  runs: string[];
  /** Characters, players: the wrong kind of id for every route. */
  others: string[];
  tokens: string[];
}

const hostileText = fc.constantFrom(
  "1e12",
  "-1",
  "NaN",
  "Infinity",
  "9007199254740993",
  "0x10",
  "1.5",
  "",
  "%00",
  "..%2F..%2Fetc",
  "%E0%A4%A",
  "__proto__",
  "constructor",
  "a".repeat(5_000),
);

function segment(known: Known, path: string): fc.Arbitrary<string> {
  const fitting = path.startsWith("/api/runs/") ? known.runs : known.universes;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...fitting) },
    { weight: 1, arbitrary: fc.constantFrom(...known.others, ...known.runs, ...known.universes) },
    { weight: 2, arbitrary: hostileText.map((t) => (t.includes("%") ? t : encodeURIComponent(t))) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 2_000 }).map(String) },
  );
}

function queryString(): fc.Arbitrary<string> {
  const name = fc.oneof(
    fc.constantFrom(
      "position",
      "from",
      "to",
      "cursor",
      "limit",
      "order",
      "characterId",
      "runId",
      "kind",
      "q",
      "__proto__",
      "limit[]",
    ),
    fc.string({ maxLength: 10 }),
  );
  const value = fc.oneof(
    hostileText,
    fc.string({ maxLength: 40 }),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom("asc", "desc", "action", "retcon"),
  );
  return fc
    .array(fc.tuple(name, value), { maxLength: 5 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"));
}

/** JSON text of a generated value; a BigInt becomes a number literal with all its digits. */
function toJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, x: unknown) => (typeof x === "bigint" ? `\u0000big${x}` : x))?.replace(
    /"\\u0000big(-?\d+)"/g,
    "$1",
  );
}

/** A JSON body as a string: usually JSON of a hostile value, sometimes not JSON at all. */
function body(): fc.Arbitrary<string | undefined> {
  const shaped = fc.record(
    {
      name: fc.oneof(fc.string({ maxLength: 120 }), anyValue),
      password: fc.oneof(fc.string({ maxLength: 80 }), anyValue),
      premise: anyValue,
      note: fc.oneof(fc.string({ maxLength: 100 }), anyValue),
      deltas: fc.oneof(
        fc.array(
          fc.record({
            op: fc.constantFrom("set", "increment", "unset", "push", "remove"),
            path: fc.constantFrom(
              "/canon/facts/x",
              "/canon/facts/x/value",
              "/world/flags/y",
              "/canon/recentSummary",
              "",
            ),
            value: anyValue,
          }),
          { maxLength: 3 },
        ),
        anyValue,
      ),
      position: fc.oneof(fc.integer({ min: -3, max: 3_000 }), anyValue),
      reason: fc.oneof(fc.constantFrom("retired", "died", "victory"), anyValue),
      characterId: anyValue,
      highConcept: anyValue,
      trouble: anyValue,
      skills: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.integer({ min: -3, max: 9 })),
        anyValue,
      ),
      inviteCode: anyValue,
      refreshToken: anyValue,
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 5, arbitrary: shaped.map(toJson) },
    { weight: 2, arbitrary: anyValue.map(toJson) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"a":1e999}',
        '{"__proto__":{"admin":true}}',
        "[",
        "{",
        "null",
        '"x"',
        "1e999",
        "{}",
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: 120_000 })
        .map((n) => JSON.stringify({ name: "x".repeat(n) })),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

export interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export function requests(route: Route, known: Known): fc.Arbitrary<GeneratedRequest> {
  const params = route.path.split("/").filter((part) => part.startsWith(":"));
  // a position takes numbers and junk; an id takes ids of the kind the route serves, and junk
  const segments = params.map((param) =>
    param === ":position"
      ? fc.oneof(fc.integer({ min: -2, max: 400 }).map(String), segment(known, route.path))
      : segment(known, route.path),
  );
  return fc
    .record({
      segments: fc.tuple(...segments),
      query: queryString(),
      body: body(),
      token: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...known.tokens) },
        { weight: 1, arbitrary: fc.constantFrom("", "garbage", "Bearer", "a.b.c") },
      ),
      contentType: fc.constantFrom(
        "application/json",
        "application/json",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
      ),
    })
    .map(({ segments, query, body, token, contentType }) => {
      let index = 0;
      const path = route.path.replace(/:[A-Za-z]+/g, () => segments[index++]!);
      const headers: Record<string, string> = { "content-type": contentType };
      if (token) headers.authorization = `Bearer ${token}`;
      return {
        method: route.method,
        url: `${path}${query ? `?${query}` : ""}`,
        headers,
        body: route.method === "GET" ? undefined : body,
      };
    });
}
