import type { Socket } from "node:net";

/**
 * Counts the system-call-level writes Node makes on a socket: `_write` for one chunk, `_writev`
 * for several (each entry is the number of chunks that write carried).
 */
export function countWrites(socket: Socket): number[] {
  const writes: number[] = [];
  const internals = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], ...rest: unknown[]) => void;
  };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...args) => {
    writes.push(1);
    write(...args);
  };
  internals._writev = (chunks, ...rest) => {
    writes.push(chunks.length);
    writev(chunks, ...rest);
  };
  return writes;
}

/** Resolves with everything `received` holds once it reaches `length` bytes. */
export function receivedText(received: Buffer[], length: number): Promise<string> {
  return new Promise((resolve) => {
    const check = () =>
      Buffer.concat(received).length >= length
        ? resolve(Buffer.concat(received).toString())
        : setTimeout(check, 5);
    check();
  });
}
