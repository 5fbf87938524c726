import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { ChatBehaviour } from "./chat-server.ts";

export interface ChatProcess {
  /** The chat-completions API's base URL. */
  url: string;
  /** What each request asked for and when each chunk was written (see chat-process.ts). */
  side: string;
  child: ChildProcess;
}

/**
 * Starts chat-process.ts in a process of its own and waits until it listens. `started` sees the
 * child at once (to set its priority before it serves anything).
 */
export async function spawnChatProcess(
  behaviour: Partial<ChatBehaviour>,
  started?: (child: ChildProcess) => void,
): Promise<ChatProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "chat-process.ts"), JSON.stringify(behaviour)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  started?.(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", (code) => reject(new Error(`the endpoint exited (${code})`)));
  });
  return { ...(JSON.parse(line) as { url: string; side: string }), child };
}
