// Builds the web client into web/dist: `npm run build:web` (`npm start` does it by itself when
// web/dist is missing or older than its sources).
import { buildWebClientIfNeeded } from "../server/src/web/build.ts";

const { error } = await buildWebClientIfNeeded({ force: true });
if (error) process.exit(1);
