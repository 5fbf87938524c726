/**
 * The API reference as one self-contained HTML page (no script, no stylesheet from elsewhere),
 * rendered from the OpenAPI document: operations by tag with their parameters, bodies, answers
 * and refusal codes, then the shared schemas.
 */

type Json = Record<string, unknown>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function escape(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Inline code spans, as the document's descriptions write them (`code`). */
function prose(text: string): string {
  return escape(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function schemaBlock(schema: unknown): string {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (ref) {
    const name = ref.split("/").at(-1)!;
    return `<a href="#schema-${escape(name)}">${escape(name)}</a>`;
  }
  const text = JSON.stringify(schema, null, 2).replace(
    /"\$ref": "#\/components\/schemas\/([A-Za-z]+)"/g,
    (_all, name: string) => `"$ref": "${name}"`,
  );
  return `<details><summary>schema</summary><pre>${escape(text)}</pre></details>`;
}

function operationHtml(method: string, path: string, op: Json): string {
  const id = escape(String(op.operationId));
  const security = (op.security as Json[] | undefined) ?? [];
  const auth =
    security.length === 0
      ? "no token"
      : security.some((s) => "operator" in s)
        ? "operator token optional"
        : security.some((s) => Object.keys(s).length === 0)
          ? "token optional"
          : "bearer token";
  const params = ((op.parameters as Json[] | undefined) ?? [])
    .map(
      (p) =>
        `<tr><td><code>${escape(String(p.name))}</code></td><td>${escape(String(p.in))}</td><td>${p.required ? "required" : "optional"}</td><td><code>${escape(JSON.stringify(p.schema))}</code></td></tr>`,
    )
    .join("");
  const body = op.requestBody as
    { content: Record<string, { schema: unknown }>; required: boolean } | undefined;
  const answers = Object.entries(op.responses as Record<string, Json>)
    .map(([status, answer]) => {
      const content = answer.content as Record<string, { schema: unknown }> | undefined;
      const [type, media] = Object.entries(content ?? {})[0] ?? [];
      const codes = answer["x-rejection-codes"] as string[] | undefined;
      const what = codes
        ? codes.map((code) => `<code>${escape(code)}</code>`).join(" ")
        : `${prose(String(answer.description))}${media ? ` — ${escape(type!)} ${schemaBlock(media.schema)}` : ""}`;
      return `<tr><td>${escape(status)}</td><td>${what}</td></tr>`;
    })
    .join("");
  return `<section class="op" id="op-${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${prose(String(op.summary))} <span class="auth">(${auth})</span></p>
${params ? `<table><tr><th>parameter</th><th>in</th><th></th><th>schema</th></tr>${params}</table>` : ""}
${body ? `<p>Body (${body.required ? "required" : "optional"}, application/json): ${schemaBlock(body.content["application/json"]?.schema)}</p>` : ""}
<table><tr><th>status</th><th>answer</th></tr>${answers}</table>
</section>`;
}

export function renderDocsPage(document: Json): string {
  const info = document.info as { title: string; version: string; description: string };
  const paths = document.paths as Record<string, Json>;
  const byTag = new Map<string, string[]>();
  const index: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const tag = (op.tags as string[] | undefined)?.[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operationHtml(method, path, op));
      index.push(
        `<li><a href="#op-${escape(String(op.operationId))}"><span class="method ${method}">${method.toUpperCase()}</span> ${escape(path)}</a></li>`,
      );
    }
  }
  const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
  const codes = (document["x-rejection-codes"] as string[] | undefined) ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(info.title)} ${escape(info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1d1d1f}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f4f6;padding:.5rem;overflow:auto;max-height:30rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.op{border-top:1px solid #ccc;padding:.5rem 0}.method{font-weight:bold;font-family:ui-monospace,monospace}
.get{color:#0a6}.post{color:#06c}.put{color:#a60}.patch{color:#a0a}.delete{color:#c00}.auth{color:#666}
ul.index{columns:2;list-style:none;padding:0}@media(max-width:40rem){ul.index{columns:1}}
</style></head><body>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${prose(info.description)}</p>
<p>The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2><ul class="index">${index.join("")}</ul>
${[...byTag].map(([tag, ops]) => `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${ops.join("\n")}`).join("\n")}
<h2 id="codes">Refusal codes</h2>
<p>Every refusal answers <code>{ "error": { "code", "message" } }</code>; join refusals of a universe's room carry the same codes.</p>
<ul>${codes.map((code) => `<li><code>${escape(code)}</code></li>`).join("")}</ul>
<h2>Schemas</h2>
${Object.entries(schemas)
  .map(
    ([name, schema]) =>
      `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3><details><summary>JSON Schema</summary><pre>${escape(JSON.stringify(schema, null, 2))}</pre></details></section>`,
  )
  .join("\n")}
</body></html>
`;
}
