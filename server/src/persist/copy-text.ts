// Values as fields of COPY's text format (copy.ts writes the rows): apart from copyRows, so that the
// import's checking thread, which writes rows out, loads none of the database's modules.

const BREAKS = /[\n\r\t]/;
const BREAKS_ALL = /[\n\r\t]/g;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A text value as a COPY field: backslashes doubled, newlines, carriage returns and tabs escaped.
 * JSON text has backslashes in its escapes and none of the others (JSON escapes them inside
 * strings), and the backslashes go with one native pass: a state of megabytes costs milliseconds.
 */
export function copyText(value: string | null): string {
  if (value === null) return "\\N";
  const text = value.includes("\\") ? value.replaceAll("\\", "\\\\") : value;
  return BREAKS.test(text) ? text.replace(BREAKS_ALL, (c) => ESCAPES[c]!) : text;
}

/**
 * JSON text written by JSON.stringify (null: SQL null) as a COPY field. JSON.stringify escapes
 * every control character inside strings and puts no whitespace between tokens: only backslashes
 * need doubling.
 */
export function copyJsonText(json: string | null): string {
  if (json === null) return "\\N";
  return json.includes("\\") ? json.replaceAll("\\", "\\\\") : json;
}

/** A JSON value (null or undefined: SQL null) as a COPY field. */
export function copyJson(value: unknown): string {
  return value === null || value === undefined ? "\\N" : copyJsonText(JSON.stringify(value));
}
