import { Command, CommanderError } from "commander";
import { escapeControls } from "@loom/shared";
import { describeError, errorClass } from "../describe-error.ts";
import { CliError, Interrupted, INTERRUPTED_EXIT, type GlobalOptions, type Io } from "./context.ts";
import { addExportCommands } from "./export-commands.ts";
import { addInspectCommands } from "./inspect-commands.ts";
import { addBackupCommands } from "./backup-commands.ts";

/** SQLSTATEs of a database's own files found damaged: data_corrupted, index_corrupted. */
const DATA_CORRUPTED = new Set(["XX001", "XX002"]);
const DAMAGED_HINT =
  "; the database is damaged: restore a backup (README, The command line: Backup / restore)";

/**
 * `loom`: the campaign as files. Works against the database the server is configured with
 * (DATABASE_URL, else the embedded PGlite in LOOM_DATA_DIR, ./data by default); `export` can also
 * ask a running server over HTTP. Exit codes: 0 done, 1 a check failed (verify, a refused import,
 * the database's files found damaged), 2 a usage or setup error, 3 the embedded database is locked
 * by a running server, 130 stopped by Ctrl-C or SIGTERM, 141 the reader of stdout went away
 * (`loom export … | head`).
 */
export function buildProgram(io: Io): Command {
  const program = new Command("loom");
  const global = () => program.opts<GlobalOptions>();
  program
    .description(
      "Loom's command line: export, import, verify, jump through and replay universes; back up the embedded database",
    )
    .option("--data-dir <dir>", "the data folder of the embedded database (LOOM_DATA_DIR, ./data by default)")
    .option("--database-url <url>", "a Postgres database instead (DATABASE_URL)")
    .option("--progress", "draw progress bars on stderr even when it is not a terminal")
    .option("--no-progress", "no progress bars (by default drawn when stderr is a terminal)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  addInspectCommands(program, io, global);
  addExportCommands(program, io, global);
  addBackupCommands(program, io, global);
  for (const command of program.commands) command.exitOverride().showHelpAfterError();
  return program;
}

/** Runs one command line and returns its exit code; errors are reported on stderr, never thrown. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError) {
      if (error.message) io.stderr.write(`loom: ${escapeControls(error.message, { lines: true })}\n`);
      return error.exitCode;
    }
    if (error instanceof Interrupted) {
      io.stderr.write("loom: interrupted\n");
      return INTERRUPTED_EXIT;
    }
    // one line; where it came from when asked for (a bug report's)
    const [line, ...stack] = describeError(error).split("\n");
    const damaged = DATA_CORRUPTED.has(errorClass(error));
    io.stderr.write(`loom: ${escapeControls(line ?? "")}${damaged ? DAMAGED_HINT : ""}\n`);
    if (io.env.LOOM_LOG_LEVEL === "debug" && stack.length) io.stderr.write(`${stack.join("\n")}\n`);
    // what the database holds failed a check of its own, as a verify's mismatch does
    return damaged ? 1 : 2;
  }
}
