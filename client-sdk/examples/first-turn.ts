// From nothing to a first turn: a GM creates a universe, a player creates a character, joins and
// acts. Run it against a running server: `npx tsx client-sdk/examples/first-turn.ts [url]`.
import { connect } from "../src/index.ts";

const url = process.argv[2] ?? "http://localhost:2567";

const gm = connect(url);
await gm.registerPlayer("Game Master");
const universe = await gm.createUniverse({
  name: "The Salt Marches",
  premise: "A drowned coast of smugglers",
});
console.log(`universe ${universe.id} created; you are its GM`);
// a universe is private: players join it with an invite code from its GM
const invite = await gm.createInvite(universe.id);

const player = connect(url);
await player.registerPlayer("Alex");
await player.acceptInvite(invite.code);
const { character, run } = await player.createCharacter(universe.id, {
  name: "Mara",
  highConcept: "Disgraced cartographer of the Salt Guild",
  trouble: "Owes the Guild a map she never drew",
  aspects: ["Never forgets a road"],
  skills: { Athletics: 2, Notice: 3, Lore: 2, Will: 1 },
});
console.log(`character ${character.name} (${character.id}) created, run ${run.id}`);

const session = await player.joinUniverse(universe.id, { role: "player", runId: run.id });
session.on("durable", ({ durableThrough }) => console.log(`durable through turn ${durableThrough}`));

const result = await session.act({
  kind: "action",
  action: "overcome",
  characterId: character.id,
  skill: "Athletics",
  description: "the flooded ditch before the tide turns",
});
if (result.ok) {
  const { turn } = result;
  console.log(`turn ${turn.position}: ${turn.events.map((event) => event.description).join(" ")}`);
} else {
  console.log(`rejected: ${result.rejection.code} — ${result.rejection.message}`);
}
await new Promise((resolve) => setTimeout(resolve, 500));
await session.leave();
process.exit(0);
