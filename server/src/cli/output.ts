import { closeSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { once } from "node:events";

/** Writes the chunks in order, waiting whenever the stream asks to (constant memory for any size). */
export async function writeAll(chunks: AsyncIterable<string>, stream: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of chunks) {
    if (!stream.write(chunk)) await once(stream, "drain");
  }
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
