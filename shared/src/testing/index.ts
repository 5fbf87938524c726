export * from "./universe.ts";
export * from "./campaign.ts";
export * from "./dice.ts";
export * from "./timeline.ts";
export { gmCommand, playerCommand } from "./proposals.ts";
export * from "./seeded.ts";
export { saltMarches, turnFixture, characterFixture, npcFixture } from "../continuity/fixtures.ts";
