import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import type { Plugin } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * A worker thread's TypeScript entry as one ES module. Started through tsx, a thread resolves and
 * compiles each of its modules through tsx's hooks, one request to the hooks' thread at a time:
 * some 0.5 s for the two hundred modules an import's checker needs, where one bundle of them
 * loads in a third of that. esbuild (tsx's own compiler) builds the bundle at its first use; it is
 * kept in `node_modules/.cache/loom` beside the list of its sources and their hash, and built again
 * when any source has changed. A module of the project keeps its own `import.meta.url` (and
 * `dirname`, `filename`) in the bundle, so one that finds files beside itself still does; a
 * package that does so is left out (`externalPackages`).
 */

interface Manifest {
  hash: string;
  inputs: string[];
}

interface BundleOptions {
  /** Where bundles are kept; by default `.cache/loom` in the node_modules folder that holds esbuild. */
  cacheDir?: string;
  /**
   * Leave the installed packages out (all but the workspace's `@loom/*`): the thread imports each
   * from its file, as Node would resolve it, and a package that reads files beside its own (PGlite's
   * WebAssembly, pino's transports) finds them. Those files are among the sources hashed.
   */
  externalPackages?: boolean;
}

const bundles = new Map<string, Promise<URL | null>>();

/**
 * The bundle of `entry` (a module's file URL), built or checked once per process; null when it
 * cannot be had (esbuild missing, a build error, a folder that cannot be written), and the
 * caller starts its thread through tsx.
 */
export function bundledEntry(entry: URL, options: BundleOptions = {}): Promise<URL | null> {
  const key = `${entry.href}\0${options.cacheDir ?? ""}\0${options.externalPackages === true}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = workerBundle(entry, options).catch((error: unknown) => {
      process.emitWarning(
        `${entry.href} runs through tsx, not bundled: ${String(error)}`,
        "LoomWorkerBundle",
      );
      return null;
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

/** The bundle of `entry`, the one kept if its sources are unchanged, else built now. */
export async function workerBundle(entry: URL, options: BundleOptions = {}): Promise<URL> {
  const esbuild = await import("esbuild");
  const cacheDir =
    options.cacheDir ??
    join(dirname(fileURLToPath(import.meta.resolve("esbuild"))), "..", "..", ".cache", "loom");
  const entryPath = fileURLToPath(entry);
  const external = options.externalPackages === true;
  const name =
    entryPath
      .replace(/\.[cm]?[jt]s$/, "")
      .replace(/[^A-Za-z0-9]+/g, "-")
      .replace(/^-+/, "") + (external ? "-own" : "");
  const manifestPath = join(cacheDir, `${name}.json`);
  const salt = `esbuild ${esbuild.version} node20 esm, own locations`;
  const kept = readManifest(manifestPath);
  if (kept && sourcesHash(salt, kept.inputs) === kept.hash) {
    const file = join(cacheDir, `${name}-${kept.hash}.mjs`);
    if (existsSync(file)) return pathToFileURL(file);
  }
  // the files of the packages left out, as the bundle imports them
  const packages = new Set<string>();
  const built = await esbuild.build({
    entryPoints: [entryPath],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    metafile: true,
    outfile: join(cacheDir, `${name}.mjs`),
    logLevel: "silent",
    plugins: [ownLocations(), ...(external ? [packagesLeftOut(packages)] : [])],
  });
  const inputs = [...Object.keys(built.metafile.inputs).map((input) => resolve(input)), ...packages];
  const hash = sourcesHash(salt, inputs);
  const file = join(cacheDir, `${name}-${hash}.mjs`);
  mkdirSync(cacheDir, { recursive: true });
  // whole files or none: other processes may read them at once
  writeWhole(file, built.outputFiles[0]!.contents);
  writeWhole(manifestPath, JSON.stringify({ hash, inputs } satisfies Manifest));
  pruneBundles(cacheDir, name, file);
  return pathToFileURL(file);
}

/** A plugin: the project's modules keep their own `import.meta` location in the bundle. */
function ownLocations(): Plugin {
  return {
    name: "loom-own-locations",
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, "utf8");
        const own = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
        // not where it is quoted (this file names them so)
        const contents = text.replace(
          /(?<!["'`])\bimport\.meta\.(url|dirname|filename)\b/g,
          (_, key: keyof typeof own) => JSON.stringify(own[key]),
        );
        return contents === text ? undefined : { contents, loader: "ts" };
      });
    },
  };
}

/**
 * A plugin: an installed package (a bare specifier outside `@loom/*`) is imported from the file
 * esbuild resolves it to, by its file URL; each such file is added to `files`.
 */
function packagesLeftOut(files: Set<string>): Plugin {
  return {
    name: "loom-packages-left-out",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === LEFT_OUT || args.path.startsWith("node:") || args.path.startsWith("@loom/"))
          return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: LEFT_OUT,
        });
        if (found.errors.length > 0) return { errors: found.errors };
        // Node's own modules (`fs`, `worker_threads`) are external already
        if (found.external) return { path: args.path, external: true };
        files.add(found.path);
        return { path: pathToFileURL(found.path).href, external: true };
      });
    },
  };
}

/** Marks the resolution packagesLeftOut asks of esbuild, so that it does not ask itself again. */
const LEFT_OUT = Symbol("left out");

function readManifest(path: string): Manifest | null {
  try {
    const manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest;
    return typeof manifest.hash === "string" && Array.isArray(manifest.inputs) ? manifest : null;
  } catch {
    return null;
  }
}

/** The hash of the sources' paths and contents; a source gone gives no hash any bundle has. */
function sourcesHash(salt: string, inputs: readonly string[]): string {
  const hash = createHash("sha256").update(salt);
  for (const input of inputs) {
    hash.update(`\0${input}\0`);
    try {
      hash.update(readFileSync(input));
    } catch {
      hash.update("\0missing");
    }
  }
  return hash.digest("hex").slice(0, 16);
}

/** Earlier bundles of the entry, once an hour old: a thread another process starts may still read a newer one. */
function pruneBundles(cacheDir: string, name: string, kept: string): void {
  const before = Date.now() - 3_600_000;
  for (const entry of readdirSync(cacheDir)) {
    const path = join(cacheDir, entry);
    if (!entry.startsWith(`${name}-`) || !entry.endsWith(".mjs") || path === kept) continue;
    try {
      if (statSync(path).mtimeMs < before) unlinkSync(path);
    } catch {
      // gone already: another process pruned it
    }
  }
}

function writeWhole(path: string, contents: string | Uint8Array): void {
  const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, contents);
  renameSync(partial, path);
}
