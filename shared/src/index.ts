export * from "./rejection.ts";
export * from "./canonical.ts";
export * from "./delta.ts";
export * from "./state.ts";
export * from "./command.ts";
export * from "./turn.ts";
