import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../server/src/config.ts";
import { faults } from "../server/src/fault-log.ts";
import { modes, startServer, waitFor } from "./support/server.ts";
import { overcome, setTable } from "./support/players.ts";
import {
  ExpositionError,
  parseExposition,
  sampleSum,
  sampleValue,
  type Family,
} from "./support/prometheus-text.ts";
import type { LoomServer } from "../server/src/app.ts";

describe("the exposition-format reader the metrics test relies on", () => {
  const good =
    "# HELP a_total Things.\n# TYPE a_total counter\n" +
    'a_total{kind="x\\"y\\\\z\\n"} 3\na_total{kind="w"} 1e3 1712345678000\n' +
    "# TYPE h histogram\n" +
    'h_bucket{le="0.1"} 1\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 2\nh_sum 0.6\nh_count 2\n' +
    "# a comment\ng NaN\n";

  it("reads what the format allows", () => {
    const families = parseExposition(good);
    expect(families.get("a_total")).toMatchObject({ type: "counter", help: "Things." });
    expect(sampleValue(families, "a_total", { kind: 'x"y\\z\n' })).toBe(3);
    expect(sampleValue(families, "a_total", { kind: "w" })).toBe(1000);
    expect(sampleValue(families, "h_count")).toBe(2);
    expect(families.get("g")?.type).toBe("untyped");
  });

  it.each([
    ["a missing final newline", good.trimEnd()],
    ["a bad metric name", "9lives 1\n"],
    ["an unquoted label value", "a{k=v} 1\n"],
    ["a bad escape", 'a{k="\\t"} 1\n'],
    ["a reserved label", 'a{__k="v"} 1\n'],
    ["a repeated label", 'a{k="1",k="2"} 1\n'],
    ["a value that is no float", "a one\n"],
    ["a hexadecimal integer", "a 0x1F\n"],
    ["a series twice", "a 1\na 2\n"],
    ["a split family", 'a 1\nb 1\na{k="v"} 1\n'],
    ["a TYPE after samples", "a 1\n# TYPE a gauge\n"],
    ["an unknown type", "# TYPE a meter\n"],
    ["a negative counter", "# TYPE a counter\na -1\n"],
    [
      "buckets that shrink",
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    ],
    ["no +Inf bucket", '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ["+Inf unlike _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ["a histogram without _sum", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ])("refuses %s", (_name, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });
});

/** GET /metrics read strictly: the content type of the text format, and the families in it. */
async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
  return parseExposition(await response.text());
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  sampleValue(families, name, labels) ?? 0;

for (const mode of modes()) {
  describe.skipIf(!mode.available)(`GET /metrics in the Prometheus text format (${mode.name})`, () => {
    let server: LoomServer & { url: string };
    beforeAll(async () => {
      // a model nobody serves: every turn falls back to the template, so both narration series move
      const narrator = {
        ...loadConfig({}).narrator,
        kind: "openai-compatible" as const,
        url: "http://127.0.0.1:9/v1",
        model: "nobody-serves-this",
        timeoutMs: 1_000,
        retries: 0,
      };
      server = await startServer(mode, { port: 2660, narrator });
    });
    afterAll(async () => {
      await server?.shutdown();
    });

    it("names its families with types and help, and moves the turn pipeline's series when a turn is played", async () => {
      const before = await scrape(server.url);
      for (const [name, type] of [
        ["loom_act_ack_seconds", "histogram"],
        ["loom_act_durable_seconds", "histogram"],
        ["loom_act_persisted_seconds", "histogram"],
        ["loom_group_commit_seconds", "histogram"],
        ["loom_narration_seconds", "histogram"],
        ["loom_turns_total", "counter"],
        ["loom_persisted_turns_total", "counter"],
        ["loom_dependency_errors_total", "counter"],
        ["loom_scrub_stream_reads_total", "counter"],
        ["loom_narration_failures_total", "counter"],
        ["loom_damaged_snapshots_total", "counter"],
        ["loom_rooms_open", "gauge"],
        ["loom_clients_connected", "gauge"],
        ["loom_universes_open", "gauge"],
        ["loom_persist_lag_turns", "gauge"],
        ["loom_persist_lag_seconds", "gauge"],
        ["nodejs_eventloop_lag_p99_seconds", "gauge"],
        ["process_cpu_seconds_total", "counter"],
      ] as const) {
        expect(before.get(name)?.type, name).toBe(type);
        expect(before.get(name)?.help, name).toBeTruthy();
      }
      // real bucket bounds: a handful of distinct ones from under a millisecond to seconds
      const bounds = before
        .get("loom_act_ack_seconds")!
        .samples.filter((s) => s.name === "loom_act_ack_seconds_bucket")
        .map((s) => Number(s.labels.le))
        .filter(Number.isFinite);
      expect(bounds.length).toBeGreaterThanOrEqual(8);
      expect(bounds.length).toBeLessThanOrEqual(30);
      expect(Math.min(...bounds)).toBeLessThanOrEqual(0.001);
      expect(Math.max(...bounds)).toBeGreaterThanOrEqual(5);

      const table = await setTable(server.url, ["Ines"]);
      const ines = table.players[0]!;
      const session = await ines.client.joinUniverse(table.universeId, { role: "player", runId: ines.runId });
      const during = await scrape(server.url);
      expect(value(during, "loom_universes_open")).toBeGreaterThanOrEqual(1);
      expect(value(during, "loom_rooms_open")).toBeGreaterThanOrEqual(1);
      expect(value(during, "loom_clients_connected")).toBeGreaterThanOrEqual(1);

      const acts = 3;
      let last = 0;
      for (let i = 0; i < acts; i++) {
        const result = await session.act(overcome(ines.characterId));
        expect(result.ok).toBe(true);
        if (result.ok) last = result.turn.position;
      }
      await waitFor(() => session.persistedThrough >= last, 10_000, "the turns persisted");
      let after = await scrape(server.url);
      await waitFor(
        async () => {
          after = await scrape(server.url);
          return (
            value(after, "loom_act_persisted_seconds_count") >= acts &&
            value(after, "loom_narration_failures_total", {
              narrator: "openai-compatible",
              reason: "error",
            }) >= acts
          );
        },
        15_000,
        "the persisted and narration series",
      );
      const moved = (name: string, labels: Record<string, string> = {}) =>
        value(after, name, labels) - value(before, name, labels);
      expect(moved("loom_act_ack_seconds_count")).toBe(acts);
      expect(moved("loom_act_ack_seconds_sum")).toBeGreaterThan(0);
      expect(moved("loom_act_ack_seconds_bucket", { le: "+Inf" })).toBe(acts);
      expect(moved("loom_act_durable_seconds_count")).toBe(acts);
      expect(moved("loom_act_persisted_seconds_count")).toBe(acts);
      // a turn is persisted no sooner than acknowledged
      expect(value(after, "loom_act_persisted_seconds_sum")).toBeGreaterThanOrEqual(
        value(after, "loom_act_ack_seconds_sum"),
      );
      expect(moved("loom_turns_total", { kind: "action" })).toBe(acts);
      // the joining session's start is a turn too
      expect(sampleSum(after, "loom_turns_total") - sampleSum(before, "loom_turns_total")).toBeGreaterThan(
        acts,
      );
      expect(moved("loom_persisted_turns_total")).toBeGreaterThanOrEqual(acts + 1);
      expect(moved("loom_group_commit_seconds_count")).toBeGreaterThanOrEqual(1);
      expect(value(after, "loom_persist_lag_turns")).toBe(0);
      expect(moved("loom_narration_seconds_count", { narrator: "template" })).toBeGreaterThanOrEqual(acts);

      await session.leave();
      await waitFor(
        async () =>
          value(await scrape(server.url), "loom_clients_connected") < value(during, "loom_clients_connected"),
        10_000,
        "the client counted out",
      );
    });

    it("counts failed calls to a dependency by its error class", async () => {
      const before = await scrape(server.url);
      const labels = { dependency: "database", class: "57P01" };
      // the fault log every store reports to, given the error a Postgres restart produces
      const error = Object.assign(new Error("terminating connection due to administrator command"), {
        code: "57P01",
      });
      faults.failed("database", error, { universeId: "prometheus-test" });
      faults.failed("database", error, { universeId: "prometheus-test" });
      faults.closed("database", "prometheus-test");
      const after = await scrape(server.url);
      expect(
        value(after, "loom_dependency_errors_total", labels) -
          value(before, "loom_dependency_errors_total", labels),
      ).toBe(2);
    });
  });
}
