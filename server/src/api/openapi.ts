import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  API,
  apiErrorSchema,
  authSessionSchema,
  characterRecordSchema,
  characterSchema,
  deltaSchema,
  diceDisclosureSchema,
  inviteRecordSchema,
  memberRecordSchema,
  playSessionRecordSchema,
  progressionRecordSchema,
  publicUniverseSchema,
  RejectionCode,
  recapSchema,
  runRecordSchema,
  stateSchema,
  tellingSchema,
  turnSchema,
  type ApiRoute,
} from "@loom/shared";

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the contract in shared/src/api/. Zod's
 * own `toJSONSchema` writes JSON Schema 2020-12, the dialect OpenAPI 3.1 uses, so the schemas go
 * in as they are; records that many answers share become components.
 */

type Json = Record<string, unknown>;

/** Response records shared by several routes, by the name they get under components/schemas. */
const COMPONENTS: Array<[string, z.ZodType]> = [
  ["ApiError", apiErrorSchema],
  ["AuthSession", authSessionSchema],
  ["Turn", turnSchema],
  ["Delta", deltaSchema],
  ["Telling", tellingSchema],
  ["UniverseState", stateSchema],
  ["Character", characterSchema],
  ["Universe", publicUniverseSchema],
  ["Run", runRecordSchema],
  ["PlaySession", playSessionRecordSchema],
  ["CharacterRecord", characterRecordSchema],
  ["Member", memberRecordSchema],
  ["Invite", inviteRecordSchema],
  ["Progression", progressionRecordSchema],
  ["DiceDisclosure", diceDisclosureSchema],
  ["Recap", recapSchema],
];

const REF_PREFIX = "#/components/schemas/";

class SchemaWriter {
  readonly components: Record<string, Json> = {};
  private readonly registry = z.registry<{ id: string }>();

  constructor() {
    for (const [id, schema] of COMPONENTS) this.registry.add(schema, { id });
  }

  /** Requests as clients write them (defaults may be left out); answers as the server sends them. */
  write(schema: z.ZodType, io: "input" | "output"): Json {
    const json = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      unrepresentable: "any",
      io,
      ...(io === "output" ? { metadata: this.registry } : {}),
    }) as Json;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    delete json.$schema;
    for (const [id, def] of Object.entries(defs)) this.components[id] ??= relink(def);
    return relink(json);
  }

  /** The shared records themselves, so each is a component even before a route uses it. */
  writeComponents(): void {
    // written inside a wrapper object, so that the record lands under $defs like any other use
    for (const [id, schema] of COMPONENTS)
      if (!this.components[id]) this.write(z.object({ record: schema }), "output");
  }
}

/** `#/$defs/Turn` → `#/components/schemas/Turn`, throughout. */
function relink(json: Json): Json {
  return JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', `"${REF_PREFIX}`)) as Json;
}

function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, "{$1}");
}

function accepts(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}

function fieldsOf(object: z.ZodObject): Array<[string, z.ZodType]> {
  const shape: Record<string, z.ZodType> = object.shape;
  return Object.entries(shape);
}

function parameters(route: ApiRoute, writer: SchemaWriter): Json[] {
  const list: Json[] = [];
  for (const [where, object] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!object) continue;
    for (const [name, schema] of fieldsOf(object)) {
      list.push({
        name,
        in: where,
        required: where === "path" || !accepts(schema, undefined),
        schema: writer.write(schema, "input"),
      });
    }
  }
  if (route.idempotent)
    list.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "1 to 200 visible ASCII characters. The same key with the same request gets the first answer " +
        "again without running anything; with a different request, `idempotency_key_reused`.",
      schema: { type: "string", minLength: 1, maxLength: 200 },
    });
  return list;
}

function responses(route: ApiRoute, writer: SchemaWriter): Json {
  const produces = route.produces ?? "application/json";
  const answers: Json = {
    [String(route.status)]: {
      description: route.summary,
      content: { [produces]: { schema: writer.write(route.response, "output") } },
    },
  };
  for (const [status, description] of Object.entries(route.alsoAnswers ?? {}))
    answers[status] = {
      description,
      content: { [produces]: { schema: writer.write(route.response, "output") } },
    };
  const refusals: Record<number, RejectionCode[]> = {};
  for (const [status, codes] of Object.entries(route.errors)) refusals[Number(status)] = [...(codes ?? [])];
  // any route may fail inside the server; the answer is coded like every refusal
  const failed = (refusals[500] ??= []);
  if (!failed.includes(RejectionCode.Unavailable)) failed.push(RejectionCode.Unavailable);
  for (const [status, codes] of Object.entries(refusals).sort(([a], [b]) => Number(a) - Number(b))) {
    answers[status] = {
      description: `Refused: ${codes.map((code) => `\`${code}\``).join(", ")}`,
      "x-rejection-codes": codes,
      content: { "application/json": { schema: { $ref: `${REF_PREFIX}ApiError` } } },
    };
  }
  return answers;
}

function operation(name: string, route: ApiRoute, writer: SchemaWriter): Json {
  const op: Json = {
    operationId: name,
    summary: route.summary,
    tags: [route.tag],
    security: {
      bearer: [{ bearer: [] }],
      optional: [{}, { bearer: [] }],
      operator: [{}, { operator: [] }],
      none: [],
    }[route.auth],
  };
  const params = parameters(route, writer);
  if (params.length > 0) op.parameters = params;
  if (route.body)
    op.requestBody = {
      required: !accepts(route.body, {}),
      content: { "application/json": { schema: writer.write(route.body, "input") } },
    };
  op.responses = responses(route, writer);
  return op;
}

function version(): string {
  const url = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

export function buildOpenApiDocument(routes: Record<string, ApiRoute> = API): Json {
  const writer = new SchemaWriter();
  const paths: Record<string, Json> = {};
  for (const [name, route] of Object.entries(routes)) {
    const item = (paths[openApiPath(route.path)] ??= {});
    item[route.method] = operation(name, route, writer);
  }
  writer.writeComponents();
  const tags = [...new Set(Object.values(routes).map((route) => route.tag))];
  return {
    openapi: "3.1.0",
    info: {
      title: "Loom HTTP API",
      version: version(),
      description:
        "Universes, characters, runs, timelines and game-master tools of a Loom server. Live play " +
        "goes over the universe's Colyseus room (see the README). Every refusal answers " +
        "`{ error: { code, message } }` with a stable code; each operation lists the codes it may answer.",
    },
    tags: tags.map((tag) => ({ name: tag })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        operator: {
          type: "http",
          scheme: "bearer",
          description: "LOOM_OPERATOR_TOKEN: which universes fail and the errors' own words",
        },
      },
    },
    "x-rejection-codes": Object.values(RejectionCode),
  };
}

let built: Json | null = null;

/** The document, built once per process (the contract does not change while it runs). */
export function openApiDocument(): Json {
  built ??= buildOpenApiDocument();
  return built;
}
