// Worker entry: teach this thread TypeScript (tsx), then load the append worker itself.
import { register } from "tsx/esm/api";

register();
await import("./append-worker.ts");
