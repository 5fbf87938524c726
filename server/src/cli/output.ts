import { closeSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { stat } from "node:fs/promises";
import { once } from "node:events";
import { dirname, resolve } from "node:path";
import { escapeControls } from "@loom/shared";
import { CliError, type Io } from "./context.ts";

/** Exit code when the reader of stdout went away, as a shell reports a process ended by SIGPIPE. */
const READER_GONE_EXIT = 141;

/**
 * Writes the chunks in order, waiting whenever the stream asks to (constant memory for any size),
 * and no longer once `signal` is aborted. A reader that went away (`loom export … | head`) ends the
 * command quietly, as it ends `cat`.
 */
export async function writeAll(
  chunks: AsyncIterable<string>,
  stream: NodeJS.WritableStream,
  signal?: AbortSignal,
): Promise<void> {
  // set by the listener, which the compiler does not follow
  let failed = null as Error | null;
  // without a listener, the stream's 'error' would end the process with a stack trace
  const onError = (error: Error) => (failed ??= error);
  stream.on("error", onError);
  try {
    for await (const chunk of chunks) {
      if (failed) throw failed;
      if (!stream.write(chunk)) await once(stream, "drain", { signal });
    }
    // the last write's failure, if any, comes after it returned
    await new Promise<void>((done) =>
      stream.write("", (error?: Error | null) => {
        if (error) failed ??= error;
        done();
      }),
    );
    if (failed) throw failed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EPIPE") throw new CliError("", READER_GONE_EXIT);
    throw error;
  } finally {
    // a failed stream still emits its 'error' after the write's callback: the listener stays for it
    if (!failed) stream.off("error", onError);
  }
}

/**
 * An export bound for stdout: exact when piped or redirected, since it is data; on a terminal, its
 * control characters escaped, so text stored in it cannot drive the terminal.
 */
export async function* toStdout(io: Io, chunks: AsyncIterable<string>): AsyncIterable<string> {
  const terminal = io.stdout.isTTY === true;
  for await (const chunk of chunks) yield terminal ? escapeControls(chunk, { lines: true }) : chunk;
}

/** Refuses, before any work, a file to write that is a folder or in a folder that does not exist. */
export async function checkOutputFile(path: string, what: string): Promise<void> {
  if ((await stat(path).catch(() => null))?.isDirectory())
    throw new CliError(`${what} ${path} is a folder; name the file to write`);
  const folder = dirname(resolve(path));
  if (!(await stat(folder).catch(() => null))?.isDirectory())
    throw new CliError(`${what} ${path}: there is no folder ${folder}`);
}

/**
 * A file written whole or not at all: to `<file>.partial`, renamed into place when complete. Each
 * chunk is written as it comes, synchronously, on this thread: nothing is held but the chunk in
 * hand (constant memory for any size), and the export's next page is read only once the file
 * system has the last one. Handed to a write stream instead, the writes run on a thread of libuv's
 * pool, which on a busy machine waits for a core while this thread, with the stream's buffer full,
 * waits for it.
 */
export async function writeFileStreamed(path: string, chunks: AsyncIterable<string>): Promise<void> {
  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  let open = true;
  try {
    // one buffer encoded into again and again: a buffer of megabytes allocated afresh for every
    // chunk costs more in new memory pages than the encoding itself
    let bytes = Buffer.allocUnsafe(0);
    for await (const chunk of chunks) {
      // a UTF-16 code unit is at most three bytes of UTF-8
      if (chunk.length * 3 > bytes.length) bytes = Buffer.allocUnsafe(Math.max(chunk.length * 3, 1 << 16));
      const size = bytes.write(chunk, 0, "utf8");
      for (let at = 0; at < size;) at += writeSync(fd, bytes, at, size - at);
    }
    open = false;
    closeSync(fd);
    renameSync(partial, path);
  } catch (error) {
    if (open) closeSync(fd);
    try {
      unlinkSync(partial);
    } catch {
      // not there to remove
    }
    throw error;
  }
}
