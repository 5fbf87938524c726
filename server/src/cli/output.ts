import { createWriteStream } from "node:fs";
import { once } from "node:events";

/** Writes the chunks in order, waiting whenever the stream asks to (constant memory for any size). */
export async function writeAll(chunks: AsyncIterable<string>, stream: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of chunks) {
    if (!stream.write(chunk)) await once(stream, "drain");
  }
}

/** Bytes handed to the file system before the writer waits for it to catch up. */
const WRITE_AHEAD_BYTES = 32 * 2 ** 20;

/** A file written whole or not at all: to `<file>.partial`, renamed into place when complete. */
export async function writeFileStreamed(path: string, chunks: AsyncIterable<string>): Promise<void> {
  const { rename, unlink } = await import("node:fs/promises");
  const partial = `${path}.partial`;
  // Room for some ten pages of an export: the file system writes while the next pages are read,
  // where a small buffer has the reader wait for each write in turn (a stream that has filled its
  // buffer waits until all of it is written).
  const stream = createWriteStream(partial, { encoding: "utf8", highWaterMark: WRITE_AHEAD_BYTES });
  try {
    await writeAll(chunks, stream);
    stream.end();
    await once(stream, "finish");
    await rename(partial, path);
  } catch (error) {
    stream.destroy();
    await unlink(partial).catch(() => undefined);
    throw error;
  }
}
