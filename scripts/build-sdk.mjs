// Builds the client SDK into a package a project outside this repository can install:
//   node scripts/build-sdk.mjs [--pack DIR]
// client-sdk/dist holds JavaScript (ESM) with type declarations for the SDK and the shared code it
// uses (rules, records, visibility: the same files the server runs), and a package.json whose
// dependencies are the SDK's own. With --pack, `npm pack` writes the tarball to DIR.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const sdk = join(root, "client-sdk");
const dist = join(sdk, "dist");

function step(what) {
  process.stderr.write(`build-sdk: ${what}\n`);
}

step("compiling client-sdk/src and shared/src (tsc)");
rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", join(sdk, "tsconfig.build.json")],
  {
    stdio: "inherit",
  },
);

// tsc keeps the workspace specifier "@loom/shared"; in the package it is a folder of its own files.
step("pointing @loom/shared imports at the bundled shared code");
const sharedIndex = join(dist, "shared/src/index.js");
function rewrite(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) rewrite(path);
    else if (name.endsWith(".js") || name.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8");
      let target = relative(dirname(path), sharedIndex);
      if (!target.startsWith(".")) target = `./${target}`;
      const next = text.replaceAll('"@loom/shared"', JSON.stringify(target));
      if (next !== text) writeFileSync(path, next);
    }
  }
}
rewrite(join(dist, "client-sdk"));

step("writing client-sdk/dist/package.json");
const own = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8"));
const shared = JSON.parse(readFileSync(join(root, "shared/package.json"), "utf8"));
const { "@loom/shared": _workspace, ...sdkDependencies } = own.dependencies;
const pkg = {
  name: own.name,
  version: own.version,
  description: "Client SDK for Loom: accounts, universes, characters and live play over WebSocket",
  type: "module",
  main: "./client-sdk/src/index.js",
  types: "./client-sdk/src/index.d.ts",
  exports: { ".": { types: "./client-sdk/src/index.d.ts", default: "./client-sdk/src/index.js" } },
  engines: { node: ">=22" },
  dependencies: { ...sdkDependencies, ...shared.dependencies },
  license: "UNLICENSED",
};
writeFileSync(join(dist, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(dist, "README.md"),
  '# @loom/client-sdk\n\nThe Loom client SDK. See the Loom repository\'s README, "A first turn", for usage.\n',
);

const at = process.argv.indexOf("--pack");
if (at >= 0) {
  const out = resolve(process.argv[at + 1] ?? ".");
  mkdirSync(out, { recursive: true });
  step(`packing into ${out}`);
  const name = execFileSync("npm", ["pack", dist, "--pack-destination", out, "--silent"], {
    encoding: "utf8",
  }).trim();
  process.stdout.write(`${join(out, name.split("\n").at(-1))}\n`);
}
