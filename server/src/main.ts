import { loadConfig } from "./config.ts";
import { startLoomServer } from "./app.ts";
import { log } from "./log.ts";

const loom = await startLoomServer(loadConfig());

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    loom.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error("shutdown failed", error);
        process.exit(1);
      },
    );
  });
}
