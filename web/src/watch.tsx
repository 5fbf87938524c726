import { nameWithConcept } from "@loom/shared";
import { useLive } from "./live.ts";
import { LiveStatus, LiveTrouble, Refused, refusedSeat, Scene, Timeline } from "./timeline.tsx";
import { Link, Section } from "./ui.tsx";

/** A spectator: the live story, read-only, as the table may see it. */
export function WatchScreen({ universeId }: { universeId: string }) {
  const live = useLive(universeId, "spectator");
  const characters = Object.values(live.state?.characters ?? {});
  if (refusedSeat(live)) return <Refused error={live.error} title="Watching" />;
  return (
    <main>
      <header class="bar">
        <Link href="/">← Universes</Link>
        <h1>{live.state?.name ?? "…"} · watching</h1>
        <LiveStatus live={live} />
      </header>
      <LiveTrouble live={live} />
      <div class="columns">
        <div>
          <Section title="Scene">
            <Scene live={live} />
          </Section>
          <Section title="Characters">
            <ul class="presence">
              {characters.map((character) => (
                <li key={character.id}>
                  {character.present ? "●" : "○"} {nameWithConcept(character.name, character.highConcept)}
                </li>
              ))}
            </ul>
          </Section>
        </div>
        <Section title="The story" class="story">
          <Timeline live={live} label="The story" />
        </Section>
      </div>
    </main>
  );
}
