import { useEffect, useState } from "preact/hooks";
import type { Dashboard, Progression, Run, Universe } from "@loom/client-sdk";
import { unlockName, unlocksAhead } from "@loom/shared";
import { client } from "./api.ts";
import { navigate } from "./router.ts";
import {
  Action,
  count,
  ErrorLine,
  Field,
  formValues,
  Link,
  Section,
  Submit,
  useNewestRead,
  useTask,
} from "./ui.tsx";

interface Listed {
  universe: Universe;
  gm: boolean;
  dashboard: Dashboard | null;
  runs: Array<Run & { characterName: string }>;
  /** The player's characters that may start a run here: of this universe or one it branched from. */
  startable: Array<{ id: string; name: string }>;
}

/**
 * Characters of the player's that may start a new run in a universe: those of the universe itself
 * whose runs here are over, and those of a universe it branched from (a branch a GM handed them,
 * say) without a run of their own here yet.
 */
function startableIn(
  universe: Universe,
  universes: Universe[],
  runs: Run[],
  names: Map<string, string | null>,
): Array<{ id: string; name: string }> {
  const byId = new Map(universes.map((listed) => [listed.id, listed]));
  const lineage = new Set<string>();
  for (let at: Universe | undefined = universe; at && !lineage.has(at.id);) {
    lineage.add(at.id);
    at = at.parentId ? byId.get(at.parentId) : undefined;
  }
  const open = new Set(
    runs
      .filter((run) => run.universeId === universe.id && (run.state === "active" || run.state === "paused"))
      .map((run) => run.characterId),
  );
  const ids = new Set(runs.filter((run) => lineage.has(run.universeId)).map((run) => run.characterId));
  return [...ids].filter((id) => !open.has(id)).map((id) => ({ id, name: names.get(id) ?? "character" }));
}

/** The dashboard of a universe the caller is a game master of; null if it cannot be read now. */
async function dashboardOf(universeId: string): Promise<Dashboard | null> {
  try {
    return await client.dashboard(universeId);
  } catch {
    return null;
  }
}

/**
 * A character's name; null when it cannot be read: the player was removed from its universe (which
 * is then not listed either), or the read failed. Their other universes are listed all the same.
 */
async function nameOf(characterId: string): Promise<string | null> {
  try {
    return (await client.character(characterId)).character.name;
  } catch {
    return null;
  }
}

/** The caller's universes with what the start page shows of each, and their progression. */
async function readListed(): Promise<{ listed: Listed[]; progress: Progression }> {
  const [universes, me, progress] = await Promise.all([
    client.listUniverses(),
    client.me(),
    client.progression(),
  ]);
  const dashboards = await Promise.all(
    universes.map((universe) =>
      universe.yourRole === "gm" ? dashboardOf(universe.id) : Promise.resolve(null),
    ),
  );
  const names = new Map(
    await Promise.all(
      [...new Set(me.runs.map((run) => run.characterId))].map(async (id) => [id, await nameOf(id)] as const),
    ),
  );
  const listed = universes.map((universe, index) => ({
    universe,
    gm: universe.yourRole === "gm",
    dashboard: dashboards[index] ?? null,
    runs: me.runs
      .filter((run) => run.universeId === universe.id && run.state !== "completed")
      .map((run) => ({ ...run, characterName: names.get(run.characterId) ?? "character" })),
    startable: startableIn(universe, universes, me.runs, names),
  }));
  return { listed, progress };
}

/** A player's start page: their universes (as GM and as player), invites, new universes, progression. */
export function Home({ inviteCode }: { inviteCode?: string }) {
  const load = useTask();
  const [listed, setListed] = useState<Listed[] | null>(null);
  const [progression, setProgression] = useState<Progression | null>(null);
  // reads overlap (the page's first, the one after an invite is accepted): only the newest may set
  // the list, or a first read still under way would hide the universe just joined
  const reads = useNewestRead();
  const read = () =>
    reads.read(readListed, ({ listed, progress }) => {
      setListed(listed);
      setProgression(progress);
    });
  const refresh = () => load.run(read);
  useEffect(() => void refresh(), []);
  // (a read already under way began before the change: this one is read anyway, quietly)
  const changed = () => void (load.busy ? read().catch(() => undefined) : refresh());

  return (
    <main>
      <div class="columns">
        <Section title="Your universes" id="universes">
          {load.busy && !listed ? <p aria-busy="true">Loading your universes…</p> : null}
          <ErrorLine error={load.error} />
          {listed?.length === 0 ? (
            <p class="muted">None yet: create one below, or accept an invite.</p>
          ) : null}
          <ul class="universes">
            {listed?.map(({ universe, gm, dashboard, runs, startable }) => (
              <li key={universe.id} class="universe" data-name={universe.name}>
                <strong>{universe.name}</strong>{" "}
                <span class="muted">
                  {universe.visibility} · {count(universe.headPosition, "turn")}
                  {universe.parentId ? ` · branch at #${universe.branchPosition}` : ""}
                </span>
                {dashboard ? <DashboardLine dashboard={dashboard} /> : null}
                <div class="row">
                  {gm ? (
                    <Link class="button" href={`/u/${universe.id}/gm`}>
                      Game master console
                    </Link>
                  ) : null}
                  {runs.map((run) => (
                    <Link key={run.id} class="button primary" href={`/u/${universe.id}/play/${run.id}`}>
                      Play {runLabel(run)}
                    </Link>
                  ))}
                  {startable.map((character) => (
                    <Action
                      key={character.id}
                      label={`Start a run with ${character.name}`}
                      busyLabel="Starting a run…"
                      onRun={async () => {
                        const run = await client.startRun(universe.id, character.id);
                        navigate(`/u/${universe.id}/play/${run.id}`);
                      }}
                    />
                  ))}
                  <Link class="button" href={`/u/${universe.id}/new`}>
                    New character
                  </Link>
                  <Link class="button" href={`/u/${universe.id}/watch`}>
                    Watch
                  </Link>
                </div>
              </li>
            ))}
          </ul>
          <Action label="Refresh" busyLabel="Refreshing…" onRun={refresh} />
        </Section>
        <div>
          <AcceptInvite initialCode={inviteCode} onAccepted={changed} />
          <CreateUniverse />
          <ProgressionPanel progression={progression} />
        </div>
      </div>
    </main>
  );
}

/** A game master's glance: who plays (● at the table), the head, persistence, narration. */
function DashboardLine({ dashboard }: { dashboard: Dashboard }) {
  const playing = dashboard.runs.filter((run) => run.state === "active" || run.state === "paused");
  return (
    <p class="dashboard muted">
      {playing.length === 0
        ? "No characters yet"
        : playing.map((run) => `${run.present ? "●" : "○"} ${run.characterName ?? "?"}`).join("  ")}{" "}
      · head #{dashboard.head} · durable through #{dashboard.durableThrough} · persisted through #
      {dashboard.persistedThrough} ·{" "}
      {dashboard.narration.untold === 0
        ? "every recent turn told"
        : `${count(dashboard.narration.untold, "turn")} being told`}
    </p>
  );
}

function runLabel(run: Run & { characterName: string }): string {
  return `${run.characterName} (${run.state})`;
}

function AcceptInvite({ initialCode, onAccepted }: { initialCode?: string; onAccepted: () => void }) {
  const task = useTask();
  const [accepted, setAccepted] = useState<string | null>(null);
  const submit = (event: Event) => {
    const { code = "" } = formValues(event);
    // a whole invite link works as well as the code
    const bare = code.trim().replace(/^.*\/invite\//, "");
    void task.run(async () => {
      const { universe } = await client.acceptInvite(bare);
      setAccepted(universe.name);
      onAccepted();
      navigate("/");
    });
  };
  return (
    <Section title="Accept an invite">
      <form onSubmit={submit} aria-label="Accept an invite">
        <Field label="Invite code or link">
          <input name="code" required defaultValue={initialCode ?? ""} />
        </Field>
        <Submit task={task} label="Accept invite" busyLabel="Accepting…" />
        <ErrorLine error={task.error} />
        {accepted ? <p role="status">You are a member of {accepted}.</p> : null}
      </form>
    </Section>
  );
}

function CreateUniverse() {
  const task = useTask();
  const submit = (event: Event) => {
    const { name = "", premise = "", visibility } = formValues(event);
    void task.run(async () => {
      const universe = await client.createUniverse({
        name,
        premise,
        visibility: visibility === "public" ? "public" : "private",
      });
      navigate(`/u/${universe.id}/gm`);
    });
  };
  return (
    <Section title="Create a universe">
      <form onSubmit={submit} aria-label="Create a universe">
        <Field label="Name">
          <input name="name" required maxLength={200} />
        </Field>
        <Field label="Premise" hint="what the narrator is told the world is about">
          <textarea name="premise" maxLength={4000} rows={3} />
        </Field>
        <label class="check">
          <input type="checkbox" name="visibility" value="public" /> Public (any signed-in player may watch
          and join)
        </label>
        <Submit task={task} label="Create universe" busyLabel="Creating…" />
        <ErrorLine error={task.error} />
      </form>
    </Section>
  );
}

function ProgressionPanel({ progression }: { progression: Progression | null }) {
  if (!progression) return null;
  const ahead = unlocksAhead(progression);
  return (
    <Section title="Your progression" id="progression">
      <dl class="facts">
        <dt>Runs completed</dt>
        <dd>{progression.runsCompleted}</dd>
        <dt>Turns in completed runs</dt>
        <dd>{progression.turnsInCompletedRuns}</dd>
        <dt>Milestones</dt>
        <dd>{progression.milestones}</dd>
        <dt>Unlocks</dt>
        <dd>
          {progression.unlocks.length > 0
            ? progression.unlocks.map((id) => unlockName(id)).join(", ")
            : "none yet"}
        </dd>
      </dl>
      {ahead.length > 0 ? (
        <>
          <p class="hint">What completed runs unlock next:</p>
          <ul class="ahead" aria-label="Unlocks ahead">
            {ahead.map((unlock) => (
              <li key={unlock.id}>
                {unlockName(unlock.id)}: {unlock.needs}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Section>
  );
}
