// Worker entry: teach this thread TypeScript (tsx), then load the store worker itself.
import { register } from "tsx/esm/api";

register();
await import("./store-worker.ts");
