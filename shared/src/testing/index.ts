export * from "./universe.ts";
export * from "./campaign.ts";
export { gmCommand, playerCommand } from "./proposals.ts";
