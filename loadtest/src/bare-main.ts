import { startBareServer } from "./bare-room.ts";

/** The bare baseline server on its own (PORT), for runs that give the server its own process. */
const bare = await startBareServer(Number(process.env.PORT ?? 2568));
process.stderr.write(`bare room server listening on ${bare.url}\n`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    bare.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
