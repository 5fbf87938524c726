import { parentPort, workerData } from "node:worker_threads";
import type { UniverseState } from "@loom/shared";
import { installNativeSha256 } from "../native-sha256.ts";
import { checkedItems, type CheckedItem, type CheckOptions } from "./checked-items.ts";
import { ExportFileError } from "./reader.ts";

/**
 * An export read and checked on a thread of its own (checked-file.ts starts it): its items
 * (checked-items.ts) handed over in messages, each up to and including a parcel of turn rows,
 * whose bytes are moved across, not copied. At most `ahead` messages wait for the writer.
 */

export type CheckerMessage =
  | { items: CheckedItem[] }
  | { done: true }
  | { refused: { line: number; reason: string; paths: string[]; code: ExportFileError["code"] } }
  | { failed: { name: string; message: string } };

/**
 * What the writer sends first: the state at the header's `from` when it has it, the new
 * universe's id, how many messages the checker may hand over that it has not taken yet, and the
 * checks' options (the longest line, a reference export's parent's undos).
 */
export interface CheckerStart {
  start: UniverseState | null;
  universeId: string;
  ahead: number;
  options: CheckOptions;
}

/** The first message says where the state starts; each one after it lets one more message go. */
async function check(port: NonNullable<typeof parentPort>, file: string): Promise<void> {
  const { start, universeId, ahead, options } = await new Promise<CheckerStart>((resolve) =>
    port.once("message", (message: CheckerStart) => resolve(message)),
  );
  // the writer asks for more only once a message has reached it, so after this listener is on
  let credit = ahead;
  let wake: (() => void) | null = null;
  port.on("message", () => {
    credit += 1;
    wake?.();
  });
  let items: CheckedItem[] = [];
  const send = async () => {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    credit -= 1;
    const moved = items.flatMap((item) =>
      item.kind === "turns" ? item.rows.chunks.map((chunk) => chunk.buffer) : [],
    );
    port.postMessage({ items } satisfies CheckerMessage, moved);
    items = [];
  };
  for await (const item of checkedItems(file, start, universeId, options)) {
    items.push(item);
    if (item.kind === "turns") await send();
  }
  if (items.length > 0) await send();
  port.postMessage({ done: true } satisfies CheckerMessage);
}

if (parentPort) {
  const port = parentPort;
  installNativeSha256();
  check(port, (workerData as { file: string }).file).catch((error: unknown) => {
    port.postMessage(
      (error instanceof ExportFileError
        ? { refused: { line: error.line, reason: error.reason, paths: error.paths, code: error.code } }
        : {
            failed: {
              name: error instanceof Error ? error.name : "Error",
              message: error instanceof Error ? error.message : String(error),
            },
          }) satisfies CheckerMessage,
    );
  });
}
