import type { Command } from "commander";
import { stat } from "node:fs/promises";
import { escapeControls, listQuests, viewTurn, type Turn, type UniverseState } from "@loom/shared";
import {
  ExportFileError,
  fileLines,
  parseAudience,
  readExport,
  rollFootnote,
  verifyTimeline,
  type SnapshotMismatch,
} from "../export/index.ts";
import { viewerOf, turnPages } from "../export/source.ts";
import type { MissingTurns } from "../export/verify.ts";
import { NotFoundError } from "../persist/turn-store.ts";
import {
  checkAudience,
  CliError,
  interrupted,
  openStores,
  stopIfInterrupted,
  warnOfTurnsInRedis,
  type GlobalOptions,
  type Io,
} from "./context.ts";
import { progressBar } from "./progress.ts";
import { writeAll } from "./output.ts";

function describeMismatch(m: SnapshotMismatch): string {
  const what =
    m.kind === "document"
      ? `its stored document does not match its checksum ${m.expected} (hashes to ${m.actual})`
      : `the turns before it replay to ${m.actual}, the snapshot says ${m.expected}`;
  const paths = m.paths.length ? `\n  differing paths: ${m.paths.join(", ")}` : "";
  return `snapshot at position ${m.position}${m.storedIn ? ` (stored in ${m.storedIn})` : ""}: ${what}${paths}`;
}

function describeMissing(m: MissingTurns): string {
  const what =
    m.from === m.through ? `turn at position ${m.from}` : `turns at positions ${m.from} to ${m.through}`;
  const where =
    m.resumesAt === null
      ? `the timeline ends at ${m.from - 1}, its head is ${m.through}`
      : `the timeline goes from ${m.from - 1} to ${m.resumesAt}`;
  const [first, ...rest] = m.unchecked;
  const unchecked =
    first === undefined
      ? ""
      : rest.length === 0
        ? `; the snapshot at ${first} not checked`
        : `; ${m.unchecked.length} snapshots, at positions ${first} to ${rest.at(-1)}, not checked`;
  return `${what}: ${where}${unchecked}`;
}

/** What `verify` was given: a file, a folder (which is neither), or nothing there (a universe id). */
async function kindOf(path: string): Promise<"file" | "folder" | null> {
  return stat(path).then(
    (s) => (s.isDirectory() ? "folder" : "file"),
    () => null,
  );
}

/** Written as a path: a universe of that id not found is more likely a file that is not there. */
function looksLikePath(target: string): boolean {
  return /[/\\]/.test(target) || /\.jsonl$/i.test(target);
}

function positionArg(text: string): number {
  // digits only: Number() would take "1e3" and " "
  if (!/^\d+$/.test(text)) throw new CliError(`a position is a whole number ≥ 0, got "${text}"`);
  return Number(text);
}

export function addInspectCommands(program: Command, io: Io, global: () => GlobalOptions): void {
  program
    .command("verify")
    .description(
      "replay a whole timeline (a universe in the database, or a JSONL export file) and check every snapshot checksum; " +
        "exit code 0 when intact, 1 at the first mismatch (printed with its position and differing paths) or turns missing",
    )
    .argument("<universe|file>", "universe id, or the path of a JSONL export")
    .option(
      "--repair",
      "rebuild each bad snapshot from the previous good one plus the deltas since, after showing what differs",
    )
    .action(async (target: string, flags: { repair?: boolean }) => {
      const kind = await kindOf(target);
      if (kind === "folder")
        throw new CliError(`${target} is a folder; name a universe id or a JSONL export file`);
      if (kind === "file") {
        if (flags.repair) throw new CliError("--repair applies to a universe in the database, not to a file");
        return verifyFile(io, target, global().progress);
      }
      const opened = await openStores(io, global(), "verify");
      const bar = progressBar(`verify ${target}`, io.stderr, global().progress);
      try {
        await warnOfTurnsInRedis(io, opened, target, "the check");
        const report = await verifyTimeline(opened.stores.turnStore, target, {
          repair: flags.repair,
          onProgress: (done, total) => {
            stopIfInterrupted(io);
            bar.update(done, total);
          },
          onMismatch: (m) => {
            bar.done();
            io.stdout.write(`MISMATCH ${escapeControls(describeMismatch(m), { lines: true })}\n`);
            if (flags.repair) io.stdout.write(`  repairing: rebuilding it from the replayed timeline\n`);
          },
          onMissing: (m) => {
            bar.done();
            io.stdout.write(`MISSING ${describeMissing(m)}\n`);
          },
        });
        bar.done();
        const repaired = report.mismatches.filter((m) => m.repaired).length;
        if (report.missing) {
          // nothing stored holds a lost turn: its input, roll and deltas went with its row
          throw new CliError(
            `${target}: damaged (turns missing, above); restore a backup of the database`,
            1,
          );
        }
        if (report.ok) {
          io.stdout.write(
            `${target}: intact, ${report.turns} turns replayed, ${report.snapshots} snapshots agree; state at ${report.head} ${report.headChecksum}\n`,
          );
        } else if (repaired === report.mismatches.length) {
          io.stdout.write(
            `${target}: ${repaired} snapshot(s) repaired; ${report.turns} turns replayed, state at ${report.head} ${report.headChecksum}\n`,
          );
        } else {
          throw new CliError(
            `${target}: damaged (first mismatch above); run loom verify ${target} --repair to rebuild it`,
            1,
          );
        }
      } catch (error) {
        if (error instanceof NotFoundError)
          throw new CliError(
            looksLikePath(target) ? `no file ${target}, and no universe of that id` : error.message,
          );
        if (io.signal?.aborted && !(error instanceof CliError))
          throw interrupted(`${target} was not verified to its end`);
        throw error;
      } finally {
        bar.done();
        await opened.close();
      }
    });

  program
    .command("jump")
    .description("the state of a universe at a position: a readable summary, or the whole document as JSON")
    .argument("<universe>", "universe id")
    .argument("<position>", "timeline position (0 is the genesis)")
    .option("--json", "print { position, checksum, fromSnapshot, replayed, state } as JSON")
    .action(async (universeId: string, position: string, flags: { json?: boolean }) => {
      const opened = await openStores(io, global(), "jump");
      try {
        const at = await opened.stores.turnStore.stateAt(universeId, positionArg(position));
        if (flags.json) io.stdout.write(`${JSON.stringify(at)}\n`);
        else io.stdout.write(summary(universeId, at.position, at.checksum, at.state));
      } catch (error) {
        if (error instanceof NotFoundError) throw new CliError(error.message);
        throw error;
      } finally {
        await opened.close();
      }
    });

  program
    .command("replay")
    .description(
      "read a universe's story in the terminal, turn by turn, from the recorded narration (no model is asked)",
    )
    .argument("<universe>", "universe id")
    .option("--from <position>", "first position to show", "1")
    .option("--speed <x>", "turns per second (0: no pause)", "1")
    .option("--as <audience>", "gm or player:<id>", "gm")
    .action(async (universeId: string, flags: { from: string; speed: string; as: string }) => {
      const speed = Number(flags.speed);
      if (!Number.isFinite(speed) || speed < 0)
        throw new CliError(`--speed must be a number ≥ 0, got "${flags.speed}"`);
      const audience = parseAudience(flags.as);
      if (!audience) throw new CliError(`--as must be gm or player:<id>, got "${flags.as}"`);
      const from = Math.max(1, positionArg(flags.from));
      const opened = await openStores(io, global(), "replay");
      try {
        const store = opened.stores.turnStore;
        const universe = await store.getUniverse(universeId);
        if (!universe) throw new CliError(`universe ${universeId} not found`);
        await checkAudience(opened, audience);
        const viewer = await viewerOf(store, audience);
        const head = await store.headPosition(universeId);
        // through writeAll: a reader that goes away (`loom replay … | head`) ends the replay quietly
        async function* told(): AsyncIterable<string> {
          yield `${escapeControls(universe!.name)} — turns ${from}..${head}\n\n`;
          for await (const page of turnPages(store, universeId, from - 1, head)) {
            for (const stored of page) {
              const text = telling(viewTurn(stored, viewer));
              if (!text) continue;
              yield text;
              if (speed > 0) await io.sleep(1000 / speed);
              // Ctrl-C is how a reader stops a replay
              if (io.signal?.aborted) throw interrupted(`replay stopped after turn ${stored.position}`);
            }
          }
        }
        await writeAll(told(), io.stdout);
      } finally {
        await opened.close();
      }
    });

  program
    .command("universes")
    .description("list the universes in the database")
    .option("--json", "one JSON record a line")
    .action(async (flags: { json?: boolean }) => {
      const opened = await openStores(io, global(), "list universes");
      try {
        const all = await opened.stores.turnStore.listUniverses({ limit: 10_000 });
        async function* lines(): AsyncIterable<string> {
          for (const u of all) {
            if (flags.json) yield `${JSON.stringify(u)}\n`;
            else
              yield `${u.id}  ${escapeControls(u.name)}  head ${u.headPosition}${u.parentId ? `  branch of ${u.parentId}@${u.branchPosition}` : ""}  ${u.visibility}  ${u.createdAt}\n`;
          }
          if (!flags.json && all.length === 0) yield "no universes\n";
        }
        await writeAll(lines(), io.stdout);
      } finally {
        await opened.close();
      }
    });
}

/** An export file read and checked whole, as an import would, writing nothing. */
async function verifyFile(io: Io, file: string, progress: boolean | undefined): Promise<void> {
  const bar = progressBar(`verify ${file}`, io.stderr, progress);
  let from = 0;
  let total = 0;
  let turns = 0;
  let snapshots = 0;
  try {
    for await (const item of readExport(fileLines(file))) {
      stopIfInterrupted(io);
      if (item.kind === "header") ({ from, head: total } = item.header);
      else if (item.kind === "turn") bar.update(item.turn.position - from, total - from);
      else if (item.kind === "end") ({ turns, snapshots } = item);
    }
  } catch (error) {
    if (error instanceof ExportFileError) throw new CliError(`${file}: ${error.message}`, 1);
    if (io.signal?.aborted) throw interrupted(`${file} was not verified to its end`);
    throw error;
  } finally {
    bar.done();
  }
  io.stdout.write(`${file}: intact, ${turns} turns and ${snapshots} snapshots agree\n`);
}

/** One turn for the terminal: who and what, the prose, the roll in one line; what players wrote shown, not obeyed. */
function telling(turn: Turn): string {
  return escapeControls(toldTurn(turn), { lines: true });
}

function toldTurn(turn: Turn): string {
  if (turn.input.hidden === true && turn.events.length === 0) return `— ${turn.position} · (hidden)\n\n`;
  const who = turn.characterId ?? turn.actor;
  let text = `— ${turn.position} · ${turn.kind} · ${who}${turn.status === "undone" ? " · undone" : ""}\n`;
  const narration = turn.narration?.retellings?.at(-1) ?? turn.narration;
  const prose =
    narration?.text.trim() ||
    turn.events
      .map((e) => e.description)
      .join(" ")
      .trim();
  if (turn.kind === "retcon")
    text += `RETCON: ${typeof turn.input.note === "string" ? turn.input.note : ""}\n`;
  if (prose) text += `${prose}\n`;
  if (turn.resolution) text += `  ⚄ ${rollFootnote(turn.position, turn.resolution)}\n`;
  return `${text}\n`;
}

function summary(universeId: string, position: number, sum: string, state: UniverseState): string {
  const lines = [
    `${state.universe.name} (${universeId}) at position ${position}`,
    `checksum ${sum}`,
    `scene: ${state.scene.title}${state.scene.location ? ` at ${state.scene.location}` : ""} (${state.mode})`,
  ];
  if (state.scene.summary) lines.push(`  ${state.scene.summary}`);
  const aspects = Object.values(state.scene.aspects).map((a) => a.name);
  if (aspects.length) lines.push(`  aspects: ${aspects.join("; ")}`);
  lines.push("characters:");
  for (const c of Object.values(state.characters)) {
    const stress = (track: boolean[]) => track.map((box) => (box ? "x" : "_")).join("");
    lines.push(
      `  ${c.name}: fate points ${c.fatePoints}/${c.refresh}, stress physical ${stress(c.stress.physical)} mental ${stress(c.stress.mental)}` +
        `${c.takenOut ? ", taken out" : ""}`,
    );
  }
  const quests = listQuests(state).filter((q) => q.state === "active");
  if (quests.length) lines.push(`active quests: ${quests.map((q) => q.title).join("; ")}`);
  if (state.canon.summaryRecent) lines.push(`recently: ${state.canon.summaryRecent}`);
  return `${escapeControls(lines.join("\n"), { lines: true })}\n`;
}
