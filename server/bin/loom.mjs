#!/usr/bin/env node
// The `loom` command line (server/src/cli): TypeScript run through tsx, like the server itself.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
