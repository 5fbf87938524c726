import type { Command } from "commander";
import { Option } from "commander";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { escapeControls } from "@loom/shared";
import {
  ExportFileError,
  exportFormats,
  exportUniverse,
  fileLines,
  importJsonl,
  MAX_LINE_CHARS,
  parseAudience,
  readExport,
  UnknownGameMasterError,
  type ExportFormat,
} from "../export/index.ts";
import { NewNameError, newUniverseName } from "../export/import.ts";
import { NotFoundError } from "../persist/turn-store.ts";
import {
  checkAudience,
  CliError,
  Interrupted,
  interrupted,
  openStores,
  stopIfInterrupted,
  warnOfTurnsInRedis,
  type GlobalOptions,
  type Io,
} from "./context.ts";
import { progressBar } from "./progress.ts";
import { checkOutputFile, toStdout, writeAll, writeFileStreamed } from "./output.ts";

interface ExportFlags {
  format: ExportFormat;
  out?: string;
  as: string;
  ancestry: "full" | "reference";
  server?: string;
  token?: string;
}

export function addExportCommands(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command("export")
    .description("write a universe as JSONL (docs/export-format.md) or as a Markdown story, streamed")
    .argument("<universe>", "universe id")
    .addOption(
      new Option("-f, --format <format>", "jsonl or markdown").choices(exportFormats).default("jsonl"),
    )
    .option("-o, --out <file>", "write to a file (whole or not at all) instead of stdout")
    .option("--as <audience>", "gm (everything) or player:<id> (what that player may see)", "gm")
    .addOption(
      new Option("--ancestry <mode>", "a branch's shared past: full (written out) or reference (named)")
        .choices(["full", "reference"])
        .default("full"),
    )
    .option("--server <url>", "ask a running server over HTTP instead of opening the database")
    .option("--token <token>", "access token for --server (or LOOM_TOKEN)")
    .action(async (universeId: string, flags: ExportFlags) => {
      const audience = parseAudience(flags.as);
      if (!audience) throw new CliError(`--as must be gm or player:<id>, got "${flags.as}"`);
      if (flags.out) await checkOutputFile(flags.out, "--out");
      if (flags.server) return exportOverHttp(io, universeId, flags);
      const opened = await openStores(io, global(), "export");
      const bar = progressBar(`export ${universeId}`, io.stderr, global().progress);
      const damaged: number[] = [];
      try {
        await checkAudience(opened, audience);
        await warnOfTurnsInRedis(io, opened, universeId, "the export");
        const chunks = untilInterrupted(
          io,
          exportUniverse(opened.stores, universeId, {
            format: flags.format,
            audience,
            ancestry: flags.ancestry,
            onProgress: (done, total) => bar.update(done, total),
            onDamagedSnapshot: (position) => damaged.push(position),
          }),
        );
        if (flags.out) await writeFileStreamed(flags.out, chunks);
        else await writeAll(toStdout(io, chunks), io.stdout, io.signal);
        bar.done();
        if (damaged.length > 0)
          io.stderr.write(
            `loom: warning: ${damaged.length === 1 ? "the snapshot" : "the snapshots"} of ${universeId} at position ${damaged.join(", ")} ` +
              `${damaged.length === 1 ? "does" : "do"} not match ${damaged.length === 1 ? "its checksum and was" : "their checksums and were"} left out ` +
              `(the turns rebuild the state; the export is whole); loom verify ${universeId} --repair rebuilds them in the database\n`,
          );
      } catch (error) {
        if (error instanceof NotFoundError) throw new CliError(error.message);
        if (io.signal?.aborted && !(error instanceof CliError)) throw exportInterrupted(flags);
        throw error;
      } finally {
        bar.done();
        await opened.close();
      }
    });

  program
    .command("import")
    .description(
      "create a new universe from a JSONL export: every line checked as it is written, in one transaction (a refused file leaves nothing)",
    )
    .argument(
      "<file>",
      "a game master's JSONL export (--ancestry reference: its parent universe must be in this database)",
    )
    .option("--name <name>", "the new universe's name (the exported one's by default)")
    .option(
      "--gm <playerId>",
      "the new universe's game master, a player of this database (the exported creator by default)",
    )
    .option(
      "--replay",
      "also re-execute every command with its recorded dice and compare (needs revealed dice)",
    )
    .option(
      "--max-line-mb <mebibytes>",
      `the longest line read, in MiB of text: a longer one refuses the file (LOOM_IMPORT_MAX_LINE_MB, default ${MAX_LINE_CHARS / 2 ** 20})`,
    )
    .action(async (file: string, flags: ImportFlags) => {
      const maxLine =
        flags.maxLineMb !== undefined
          ? maxLineOf(flags.maxLineMb, "--max-line-mb")
          : maxLineOf(io.env.LOOM_IMPORT_MAX_LINE_MB, "LOOM_IMPORT_MAX_LINE_MB");
      const name = flags.name === undefined ? undefined : universeName(flags.name);
      await checkFirstLine(file, maxLine);
      // a new data folder gets its database here, kept only when the import is: a refusal (its game
      // master is no player of a database this new) leaves the folder as it was
      const opened = await openStores(io, global(), "import", { mayCreate: true });
      const bar = progressBar(`import ${file}`, io.stderr, global().progress);
      let imported = false;
      try {
        stopIfInterrupted(io);
        const result = await importJsonl(opened.stores, file, {
          name,
          gm: flags.gm,
          replay: flags.replay,
          maxSavePoints: opened.config.maxSavePoints,
          maxLine,
          // thrown here, between two batches, it rolls the import's transaction back
          onProgress: (done, total) => {
            stopIfInterrupted(io);
            bar.update(done, total);
          },
        });
        bar.done();
        imported = true;
        // its search documents, which the store indexes behind the appends, before the command ends
        await opened.stores.turnStore.settleSearchIndex();
        io.stdout.write(
          `imported ${result.universe.id} "${escapeControls(result.universe.name)}": ${result.turns} turns, ${result.snapshots} snapshots, ` +
            `state at ${result.universe.headPosition} ${result.headChecksum}` +
            `${result.replayed !== null ? `; ${result.replayed} turns re-executed and equal` : ""}` +
            `${result.savePoints.restored + result.savePoints.leftOut > 0 ? `; ${result.savePoints.restored} save points` : ""}` +
            `${result.savePoints.leftOut > 0 ? ` (${result.savePoints.leftOut} left out: their players are not in this database)` : ""}\n` +
            `game master: ${result.gameMaster.playerId} ${escapeControls(JSON.stringify(result.gameMaster.name))}${flags.gm === undefined ? " (the exported creator; --gm names another)" : ""}\n`,
        );
      } catch (error) {
        bar.done();
        if (error instanceof Interrupted)
          throw interrupted(`nothing of ${file} was imported (its transaction was rolled back)`);
        if (error instanceof ExportFileError) throw new CliError(`refused ${file}: ${error.message}`, 1);
        if (error instanceof UnknownGameMasterError) throw gameMasterRefusal(file, error);
        throw error;
      } finally {
        await (imported ? opened.close() : opened.closeDiscardingMade());
      }
    });
}

interface ImportFlags {
  name?: string;
  gm?: string;
  replay?: boolean;
  maxLineMb?: string;
}

/** The chunks, until Ctrl-C: then the consumer stops, and the export's reads are closed. */
async function* untilInterrupted(io: Io, chunks: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const chunk of chunks) {
    stopIfInterrupted(io);
    yield chunk;
  }
}

function exportInterrupted(flags: ExportFlags): CliError {
  return interrupted(
    flags.out
      ? `${flags.out} was not written`
      : `the export written to stdout is incomplete${flags.format === "jsonl" ? " (it has no end line)" : ""}`,
  );
}

/** `--name` as the API takes a universe's name, trimmed; refused in the API's words when not. */
function universeName(text: string): string {
  try {
    return newUniverseName(text);
  } catch (error) {
    if (!(error instanceof NewNameError)) throw error;
    // escaped whole: a line break in the name would otherwise break the message's line
    const cut =
      text.length > 60 ? `"${escapeControls(text.slice(0, 60))}…" (${text.length} characters)` : null;
    const shown = cut ?? `"${escapeControls(text)}"`;
    throw new CliError(
      error.problem === null
        ? `--name must be ${NewNameError.min} to ${NewNameError.max} characters, got ${shown}`
        : `--name: ${error.problem}, got ${shown}`,
    );
  }
}

/** `--max-line-mb` (or LOOM_IMPORT_MAX_LINE_MB) in characters; the reader's default without. */
function maxLineOf(text: string | undefined, name: string): number {
  if (text === undefined || text === "") return MAX_LINE_CHARS;
  const mebibytes = Number(text);
  // V8's strings end just short of 512 Mi characters
  if (!Number.isFinite(mebibytes) || mebibytes <= 0 || mebibytes > 500)
    throw new CliError(`${name} must be a number of MiB above 0 and at most 500, got "${text}"`);
  return Math.floor(mebibytes * 2 ** 20);
}

/**
 * A game master who is no player here: `--gm` mistyped is the command's own error (2), an exported
 * creator this database lacks is the file's (1). Either way `--gm` is the way out.
 */
function gameMasterRefusal(file: string, error: UnknownGameMasterError): CliError {
  if (error.chosen)
    return new CliError(
      `refused ${file}: --gm ${error.playerId}: ${error.message}; name a player of this database with --gm <playerId>`,
      2,
    );
  return new CliError(`refused ${file}: ${error.message}; name one who is with --gm <playerId>`, 1);
}

/** The header, read before the database is opened (a file refused at line 1 needs no database). */
async function checkFirstLine(file: string, maxLine: number): Promise<void> {
  const found = await stat(file).catch(() => null);
  if (found?.isDirectory()) throw new CliError(`${file} is a folder; name a JSONL export file`);
  // a FIFO's or a device's open waits (or its reading goes on) in a thread no signal reaches: the
  // command could then be stopped by nothing short of SIGKILL
  if (found && !found.isFile())
    throw new CliError(
      `${file} is not a regular file (${found.isFIFO() ? "a named pipe" : found.isSocket() ? "a socket" : "a device"}); name a JSONL export file`,
    );
  try {
    for await (const item of readExport(fileLines(file, maxLine))) {
      if (item.kind === "header") return;
    }
  } catch (error) {
    if (error instanceof ExportFileError) throw new CliError(`refused ${file}: ${error.message}`, 1);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CliError(`no file ${file}`);
    throw error;
  }
  throw new CliError(`refused ${file}: no header`, 1);
}

async function exportOverHttp(io: Io, universeId: string, flags: ExportFlags): Promise<void> {
  const token = flags.token ?? io.env.LOOM_TOKEN;
  const url = new URL(`/api/universes/${encodeURIComponent(universeId)}/export`, serverUrl(flags.server!));
  url.searchParams.set("format", flags.format);
  url.searchParams.set("ancestry", flags.ancestry);
  if (flags.as !== "gm") url.searchParams.set("as", flags.as);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: io.signal,
    });
  } catch (error) {
    if (io.signal?.aborted) throw exportInterrupted(flags);
    throw new CliError(`cannot reach ${flags.server}: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) throw await refusal(response);
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  body.setEncoding("utf8");
  const whole = wholeAnswer(body, flags);
  try {
    if (flags.out) await writeFileStreamed(flags.out, whole);
    else await writeAll(toStdout(io, whole), io.stdout, io.signal);
  } catch (error) {
    if (io.signal?.aborted && !(error instanceof CliError)) throw exportInterrupted(flags);
    throw error;
  }
}

/**
 * The server's answer as it comes, ending in an error when it was cut short: a connection that
 * broke, or a JSONL export without its end line (an answer framed by the connection's close ends
 * without an error). A file is then not written; what went to stdout is said to be incomplete.
 */
async function* wholeAnswer(body: AsyncIterable<string>, flags: ExportFlags): AsyncIterable<string> {
  const cut = (why: string) =>
    new CliError(
      `the server cut the export short (${why}); ${flags.out ? "nothing was written" : "what was written is incomplete"}`,
      1,
    );
  // the end line is short: the answer's last few kilobytes hold it whole
  let tail = "";
  try {
    for await (const chunk of body) {
      tail = (tail + chunk).slice(-8192);
      yield chunk;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw cut(
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error),
    );
  }
  const last = tail.endsWith("\n") ? tail.slice(0, -1).split("\n").at(-1)! : "";
  if (flags.format === "jsonl" && !last.startsWith('{"type":"end"')) throw cut("no end line");
}

function serverUrl(text: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  if (url?.protocol !== "http:" && url?.protocol !== "https:")
    throw new CliError(`--server must be a URL such as http://127.0.0.1:2567, got "${text}"`);
  return url;
}

/** The server's refusal in one line: its status, and the error's code and message when it sent them. */
async function refusal(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => "");
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // not the API's JSON (a proxy's page): shown as it came, cut short
  }
  const said =
    typeof error?.code === "string"
      ? `${error.code}${typeof error.message === "string" ? `: ${error.message}` : ""}`
      : text.replace(/\s+/g, " ").slice(0, 300);
  return new CliError(`the server answered ${response.status} ${said}`);
}
