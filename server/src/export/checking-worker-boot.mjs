// Worker entry: teach this thread TypeScript (tsx), then load the checking worker itself.
import { register } from "tsx/esm/api";

register();
await import("./checking-worker.ts");
