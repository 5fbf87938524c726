/**
 * Where two JSON documents differ, as JSON Pointers (RFC 6901), in key order, at most `limit`:
 * what a failed verification shows of a snapshot that does not match its timeline.
 */
export function differingPaths(a: unknown, b: unknown, limit = 20): string[] {
  const found: string[] = [];
  walk(a, b, "", found, limit);
  return found;
}

function escape(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function walk(a: unknown, b: unknown, path: string, found: string[], limit: number): void {
  if (found.length >= limit || a === b) return;
  const aObject = typeof a === "object" && a !== null;
  const bObject = typeof b === "object" && b !== null;
  if (!aObject || !bObject || Array.isArray(a) !== Array.isArray(b)) {
    found.push(path || "/");
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length && found.length < limit; i++) {
      if (i >= a.length || i >= b.length) found.push(`${path}/${i}`);
      else walk(a[i], b[i], `${path}/${i}`, found, limit);
    }
    return;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  for (const key of keys) {
    if (found.length >= limit) return;
    const child = `${path}/${escape(key)}`;
    if (!(key in left) || !(key in right)) found.push(child);
    else walk(left[key], right[key], child, found, limit);
  }
}
