import { sql, type SQL } from "drizzle-orm";
import { upgradeDeltas, type Turn } from "@loom/shared";
import { turns, universes } from "./schema.ts";

/** An instant as the API writes it (`Date.toISOString`, milliseconds, UTC). */
const isoText = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The statement behind `universeAndTurn`: the universe's record (its public fields: the dice
 * secret stays in the database) and the turn stored at `position` of the timeline `storedIn`, each
 * as one JSON text built by the database. The scrubber makes this read at every position it rests
 * on, and a row of thirty columns, four of them JSON, costs a driver a value to decode per column
 * (on PGlite, in JavaScript, most of the read); two texts cost one parse each.
 */
export function universeAndTurnQuery(universeId: string, storedIn: string, position: number): SQL {
  return sql`
    select json_build_object(
        'id', u.id, 'name', u.name, 'parentId', u.parent_id, 'branchPosition', u.branch_position,
        'headPosition', u.head_position, 'status', u.status, 'visibility', u.visibility,
        'createdAt', ${isoText(sql`u.created_at`)}, 'diceCommitment', u.dice_commitment,
        'diceRevealedAt', ${isoText(sql`u.dice_revealed_at`)}, 'createdBy', u.created_by,
        'settings', u.settings
      )::text as universe,
      (select json_build_object(
          'position', t.position, 'id', t.id, 'runId', t.run_id, 'characterId', t.character_id,
          'playerId', t.player_id, 'actor', t.actor, 'kind', t.kind, 'input', t.input,
          'resolution', t.resolution, 'events', t.events, 'deltas', t.deltas,
          'undoneBy', t.undone_by, 'narration', t.narration, 'createdAt', ${isoText(sql`t.created_at`)}
        )::text
        from ${turns} t where t.universe_id = ${storedIn} and t.position = ${position}) as turn
    from ${universes} u where u.id = ${universeId}`;
}

/** A turn row as `universeAndTurnQuery` writes it. */
export type JsonTurnRow = Omit<Turn, "universeId" | "status"> & { undoneBy: number | null };

/** The row as a turn of the timeline it is read through, as `toTurn` makes it (rows.ts). */
export function turnOfJson(row: JsonTurnRow, viewUniverseId: string, undone: boolean): Turn {
  return {
    universeId: viewUniverseId,
    position: row.position,
    id: row.id,
    runId: row.runId,
    characterId: row.characterId,
    playerId: row.playerId,
    actor: row.actor,
    kind: row.kind,
    input: row.input,
    resolution: row.resolution,
    events: row.events,
    deltas: upgradeDeltas(row.deltas),
    status: undone ? "undone" : "applied",
    narration: row.narration,
    createdAt: row.createdAt,
  };
}
