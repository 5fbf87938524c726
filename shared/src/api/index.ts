export * from "./records.ts";
export * from "./requests.ts";
export * from "./responses.ts";
export * from "./routes.ts";
