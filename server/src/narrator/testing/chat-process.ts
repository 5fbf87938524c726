// A chat-completions endpoint in a process of its own, for the narration benchmark: a model runs
// elsewhere, so its endpoint's work must not share the server's event loop. Prints one JSON line
// { url, side } once listening; GET <side>?from=N answers with how many requests it has had
// (`total`) and, from the Nth on, what each asked for and when each chunk was written (epoch
// milliseconds).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startChatServer, type ChatBehaviour } from "./chat-server.ts";

const behaviour = JSON.parse(process.argv[2] ?? "{}") as ChatBehaviour;
const chat = await startChatServer(() => behaviour);
const side = createServer((req, res) => {
  // only the requests from `from` on: the whole log of a long benchmark is megabytes of prompts,
  // and reading it must not cost the process being measured a parse of all of them
  const from = Number(new URL(req.url ?? "/", "http://side").searchParams.get("from") ?? 0);
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({
      total: chat.requests.length,
      prompts: chat.requests.slice(from).map((request) => request.body.messages.at(-1)?.content ?? ""),
      written: chat.written.slice(from).map((times) => times.map((t) => performance.timeOrigin + t)),
    }),
  );
});
await new Promise<void>((resolve) => side.listen(0, "127.0.0.1", resolve));
console.log(
  JSON.stringify({ url: chat.url, side: `http://127.0.0.1:${(side.address() as AddressInfo).port}` }),
);
