/**
 * A strict reader of the Prometheus text exposition format, version 0.0.4, written from its
 * specification (prometheus.io/docs/instrumenting/exposition_formats) rather than from any
 * client library, so that a test can hold the server's GET /metrics to the format itself:
 *
 * - lines end with `\n`; `# HELP name text` and `# TYPE name type` at most once per name, before
 *   its samples; other `#` lines are comments;
 * - a sample is `name{label="value",…} value [timestamp]`: names match [a-zA-Z_:][a-zA-Z0-9_:]*,
 *   label names [a-zA-Z_][a-zA-Z0-9_]* (never `__…`, never twice), label values escape only
 *   `\\`, `\"` and `\n`; values are what Go's ParseFloat reads (decimal floats, and NaN,
 *   Inf and Infinity in any case, signed or not), timestamps integers;
 * - a family's lines form one group; no series appears twice;
 * - a histogram has `_bucket` samples with an `le` label, `_sum` and `_count`; per label set the
 *   buckets are cumulative in increasing `le`, end with `le="+Inf"`, and that bucket equals
 *   `_count`; a counter is never negative.
 *
 * Anything else throws, naming the line.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)$/i;

export class ExpositionError extends Error {}

function fail(lineNumber: number, line: string, why: string): never {
  throw new ExpositionError(`line ${lineNumber}: ${why}: ${JSON.stringify(line.slice(0, 200))}`);
}

function parseValue(text: string, lineNumber: number, line: string): number {
  if (/^[+-]?nan$/i.test(text)) return Number.NaN;
  if (!FLOAT.test(text)) fail(lineNumber, line, `not a float: ${text}`);
  if (/inf(inity)?$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function unescapeHelp(text: string, lineNumber: number, line: string): string {
  return text.replace(/\\(.?)/g, (_all, next: string) => {
    if (next === "\\") return "\\";
    if (next === "n") return "\n";
    return fail(lineNumber, line, `bad escape in HELP: \\${next}`);
  });
}

/** Reads `{a="b",…}` from `text` at `start` (just past `{`); returns the labels and the index after `}`. */
function parseLabels(
  text: string,
  start: number,
  lineNumber: number,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start;
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 };
    const eq = text.indexOf("=", i);
    if (eq < 0) fail(lineNumber, text, "label without =");
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(lineNumber, text, `bad label name ${JSON.stringify(name)}`);
    if (name.startsWith("__")) fail(lineNumber, text, `reserved label name ${name}`);
    if (name in labels) fail(lineNumber, text, `label ${name} twice`);
    if (text[eq + 1] !== '"') fail(lineNumber, text, "label value not quoted");
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) fail(lineNumber, text, "unterminated label value");
      if (c === '"') break;
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else fail(lineNumber, text, `bad escape in label value: \\${next ?? ""}`);
        j += 2;
        continue;
      }
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i += 1;
    else if (text[i] !== "}") fail(lineNumber, text, "expected , or } after a label");
  }
}

/** The family a sample belongs to: its own name, or a histogram's / summary's base name. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
  }
  return name;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, lineNumber: number, line: string) => {
    if (current === name) return;
    if (finished.has(name)) fail(lineNumber, line, `the lines of ${name} are not one group`);
    if (current !== null) finished.add(current);
    current = name;
  };
  if (text.length > 0 && !text.endsWith("\n"))
    throw new ExpositionError("the last line does not end with \\n");
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!match) return; // a comment
      const [, keyword, name, rest = ""] = match as unknown as [string, string, string, string?];
      if (!METRIC_NAME.test(name)) fail(lineNumber, line, `bad metric name ${name}`);
      enter(name, lineNumber, line);
      let family = families.get(name);
      if (!family) {
        family = { name, type: "untyped", help: null, samples: [] };
        families.set(name, family);
      }
      if (keyword === "HELP") {
        if (family.help !== null) fail(lineNumber, line, `second HELP for ${name}`);
        family.help = unescapeHelp(rest, lineNumber, line);
      } else {
        if (!TYPES.has(rest as MetricType)) fail(lineNumber, line, `unknown type ${rest}`);
        if (family.samples.length > 0) fail(lineNumber, line, `TYPE of ${name} after its samples`);
        if ((family as { typed?: boolean }).typed) fail(lineNumber, line, `second TYPE for ${name}`);
        (family as { typed?: boolean }).typed = true;
        family.type = rest as MetricType;
      }
      return;
    }
    const nameEnd = line.search(/[{ \t]/);
    if (nameEnd <= 0) fail(lineNumber, line, "a sample needs a name and a value");
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) fail(lineNumber, line, `bad metric name ${name}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) {
      const parsed = parseLabels(line, nameEnd + 1, lineNumber);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const fields = rest.trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(rest) || fields.length < 1 || fields.length > 2 || fields[0] === "")
      fail(lineNumber, line, "expected a value and an optional timestamp after the name and labels");
    const value = parseValue(fields[0]!, lineNumber, line);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) fail(lineNumber, line, "bad timestamp");
    const familyName = familyOf(name, families);
    enter(familyName, lineNumber, line);
    let family = families.get(familyName);
    if (!family) {
      family = { name: familyName, type: "untyped", help: null, samples: [] };
      families.set(familyName, family);
    }
    const key = seriesKey(name, labels);
    if (series.has(key)) fail(lineNumber, line, `series ${name} ${JSON.stringify(labels)} twice`);
    series.add(key);
    if (family.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined)
      fail(lineNumber, line, "a histogram bucket without le");
    if (family.type === "counter" && !(value >= 0)) fail(lineNumber, line, "a counter below zero");
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  const groupOf = (labels: Record<string, string>) => {
    const { le: _le, ...rest } = labels;
    const key = seriesKey("", rest);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { buckets: [] }));
    return group;
  };
  for (const sample of family.samples) {
    const group = groupOf(sample.labels);
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.le!;
      if (!FLOAT.test(le)) throw new ExpositionError(`${family.name}: bad le ${le}`);
      const bound = /inf(inity)?$/i.test(le) ? (le.startsWith("-") ? -Infinity : Infinity) : Number(le);
      if (Number.isNaN(bound)) throw new ExpositionError(`${family.name}: bad le ${le}`);
      group.buckets.push([bound, sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else throw new ExpositionError(`${family.name}: unexpected sample ${sample.name} in a histogram`);
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    if (group.count === undefined || group.sum === undefined)
      throw new ExpositionError(`${where}: a histogram needs _sum and _count`);
    const sorted = [...group.buckets].sort(([a], [b]) => a - b);
    if (sorted.at(-1)?.[0] !== Infinity) throw new ExpositionError(`${where}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![0] === sorted[i - 1]![0])
        throw new ExpositionError(`${where}: le ${sorted[i]![0]} twice`);
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new ExpositionError(`${where}: buckets not cumulative`);
    }
    if (sorted.at(-1)![1] !== group.count)
      throw new ExpositionError(
        `${where}: the +Inf bucket (${sorted.at(-1)![1]}) is not _count (${group.count})`,
      );
  }
}

/** The value of one series: `name` with exactly `labels`; undefined when absent. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = seriesKey(name, labels);
  for (const family of families.values())
    for (const sample of family.samples)
      if (seriesKey(sample.name, sample.labels) === want) return sample.value;
  return undefined;
}

/** The sum of a name's samples over every label set (e.g. turns of every kind). */
export function sampleSum(families: Map<string, Family>, name: string): number {
  let sum = 0;
  for (const family of families.values())
    for (const sample of family.samples) if (sample.name === name) sum += sample.value;
  return sum;
}
