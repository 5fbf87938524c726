// The HTTP fuzz's sending thread. The server under test runs on the suite's own thread; sending
// half a million requests from that thread too would make the client's cost the run's length.
// Plain JavaScript so a worker can start it; the TypeScript it runs is loaded through tsx.
import { parentPort } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

const { runHttpJob } = await tsImport("./http-send.ts", import.meta.url);

parentPort.on("message", async (job) => {
  try {
    parentPort.postMessage({ ok: true, result: await runHttpJob(job) });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: String(error?.stack ?? error) });
  }
});
