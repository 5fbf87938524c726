import { and, asc, count, desc, eq, inArray, isNull, ne, or, sql } from "drizzle-orm";
import type { Db } from "./rows.ts";
import { rowsOf, toCharacter, toRun, toUniverse } from "./rows.ts";
import { characters, players, runs, universeInvites, universeMembers, universes } from "./schema.ts";
import type {
  CharacterCreation,
  InviteAcceptance,
  InviteRecord,
  ListedMember,
  MemberRecord,
  MembershipStore,
  NewCharacterWithRun,
  NewRun,
  RunStart,
  SoloHandOver,
  UniverseVisibility,
} from "./membership-store.ts";
import type { UniverseRecord } from "./turn-store.ts";
import { DEFAULT_CHARACTER_LIMITS, REFUSAL_WORDS, type CharacterLimits } from "@loom/shared";

const iso = (date: Date) => date.toISOString();
const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

function toMember(row: typeof universeMembers.$inferSelect): MemberRecord {
  return { ...row, joinedAt: iso(row.joinedAt), removedAt: isoOrNull(row.removedAt) };
}

function toInvite(row: typeof universeInvites.$inferSelect): InviteRecord {
  return {
    ...row,
    createdAt: iso(row.createdAt),
    expiresAt: isoOrNull(row.expiresAt),
    revokedAt: isoOrNull(row.revokedAt),
  };
}

/** Why an invite cannot be used now, or null when it can. */
function unusable(invite: typeof universeInvites.$inferSelect, now: Date): string | null {
  if (invite.revokedAt) return "this invite was revoked";
  if (invite.expiresAt && invite.expiresAt <= now) return "this invite has expired";
  if (invite.maxUses !== null && invite.uses >= invite.maxUses) return "this invite is used up";
  return null;
}

/** Universes `playerId` is a game master of, as admission's isGm has it: their creator, or named in `gms`. */
function gameMasterOf(playerId: string) {
  return or(eq(universes.createdBy, playerId), sql`${universes.settings} -> 'gms' ? ${playerId}`);
}

/** The MembershipStore over the TurnStore's drizzle database (either adapter). */
export class Memberships implements MembershipStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
  ) {}

  async getMember(universeId: string, playerId: string): Promise<MemberRecord | null> {
    const [row] = await this.db
      .select()
      .from(universeMembers)
      .where(and(eq(universeMembers.universeId, universeId), eq(universeMembers.playerId, playerId)));
    return row ? toMember(row) : null;
  }

  async listMembers(universeId: string): Promise<ListedMember[]> {
    const rows = await this.db
      .select({ member: universeMembers, playerName: players.name })
      .from(universeMembers)
      .innerJoin(players, eq(players.id, universeMembers.playerId))
      .where(eq(universeMembers.universeId, universeId))
      .orderBy(asc(universeMembers.joinedAt), asc(universeMembers.playerId));
    return rows.map((row) => ({ ...toMember(row.member), playerName: row.playerName }));
  }

  async addMember(universeId: string, playerId: string): Promise<MemberRecord> {
    const [row] = await this.db
      .insert(universeMembers)
      .values({ universeId, playerId, joinedAt: this.clock() })
      .onConflictDoUpdate({
        target: [universeMembers.universeId, universeMembers.playerId],
        set: { removedAt: null },
      })
      .returning();
    return toMember(row!);
  }

  async removeMember(universeId: string, playerId: string): Promise<MemberRecord> {
    const now = this.clock();
    const [row] = await this.db
      .insert(universeMembers)
      .values({ universeId, playerId, joinedAt: now, removedAt: now })
      .onConflictDoUpdate({
        target: [universeMembers.universeId, universeMembers.playerId],
        set: { removedAt: sql`coalesce(${universeMembers.removedAt}, ${now.toISOString()}::timestamptz)` },
      })
      .returning();
    return toMember(row!);
  }

  async removeFromBranches(universeId: string, playerId: string, at: string): Promise<string[]> {
    const now = new Date(at).toISOString();
    // The way down is a tree (a branch names its parent); the depth is bounded as a guard only.
    // A branch's membership came with it when the player was at its parent's table as it was
    // taken (copyMembers); one the game master gave in the branch alone stays. A public branch
    // they have no membership of would let them in as a guest. A branch that is theirs (its game
    // master, or handed to them) stays theirs.
    const rows = await this.db.execute(sql`
      with recursive tree(id, parent_id, created_at, visibility, depth) as (
        select id, parent_id, created_at, visibility, 1 from ${universes} where parent_id = ${universeId}
        union all
        select u.id, u.parent_id, u.created_at, u.visibility, tree.depth + 1
        from ${universes} u join tree on u.parent_id = tree.id
        where tree.depth < 10000
      ),
      reached as (
        select tree.* from tree join ${universes} u on u.id = tree.id
        where u.created_by <> ${playerId}
          and not coalesce(u.settings -> 'gms' ? ${playerId}, false)
          and coalesce(u.settings ->> 'soloPlayerId', '') <> ${playerId}
      ),
      inherited as (
        update ${universeMembers} m set removed_at = ${now}::timestamptz
        from reached
        where m.universe_id = reached.id and m.player_id = ${playerId} and m.removed_at is null
          and exists (
            select 1 from ${universeMembers} at_parent
            where at_parent.universe_id = reached.parent_id and at_parent.player_id = ${playerId}
              and at_parent.joined_at <= reached.created_at
          )
        returning m.universe_id
      ),
      guests as (
        insert into ${universeMembers} (universe_id, player_id, joined_at, removed_at)
        select reached.id, ${playerId}, ${now}::timestamptz, ${now}::timestamptz
        from reached where reached.visibility = 'public'
        on conflict (universe_id, player_id) do nothing
        returning universe_id
      )
      select universe_id from inherited union select universe_id from guests`);
    return rowsOf<{ universe_id: string }>(rows).map((row) => row.universe_id);
  }

  async readmitToBranches(universeId: string, playerId: string, removedAt: string): Promise<string[]> {
    const at = new Date(removedAt).toISOString();
    // the same tree as removeFromBranches, every branch of it: one whose table they sit at by
    // other means has no removal of that time to lift
    const rows = await this.db.execute(sql`
      with recursive tree(id, depth) as (
        select id, 1 from ${universes} where parent_id = ${universeId}
        union all
        select u.id, tree.depth + 1 from ${universes} u join tree on u.parent_id = tree.id
        where tree.depth < 10000
      ),
      guests as (
        delete from ${universeMembers} m using tree
        where m.universe_id = tree.id and m.player_id = ${playerId}
          and m.removed_at = ${at}::timestamptz and m.joined_at = m.removed_at
        returning m.universe_id
      ),
      lifted as (
        update ${universeMembers} m set removed_at = null
        from tree
        where m.universe_id = tree.id and m.player_id = ${playerId}
          and m.removed_at = ${at}::timestamptz and m.joined_at <> m.removed_at
        returning m.universe_id
      )
      select universe_id from guests union select universe_id from lifted`);
    return rowsOf<{ universe_id: string }>(rows).map((row) => row.universe_id);
  }

  async copyMembers(fromId: string, toId: string): Promise<void> {
    // the removed too: a branch of a public universe would otherwise let them back in as guests
    await this.db.execute(sql`
      insert into ${universeMembers} (universe_id, player_id, invite_code, joined_at, removed_at)
      select ${toId}, player_id, invite_code, ${this.clock().toISOString()}::timestamptz, removed_at
      from ${universeMembers}
      where universe_id = ${fromId}
      on conflict do nothing`);
  }

  handOver(universeId: string, playerId: string): Promise<SoloHandOver> {
    return this.db.transaction(async (tx) => {
      const now = this.clock();
      // the invites go first: an acceptance holding one (acceptInvite locks it) commits before
      // this goes on, so the table's leaving below sees its new member; one that comes later
      // finds the invite revoked
      await tx
        .update(universeInvites)
        .set({ revokedAt: now })
        .where(and(eq(universeInvites.universeId, universeId), isNull(universeInvites.revokedAt)));
      // the table leaves; those removed before stay removed, should the branch be made public again
      const gone = await tx
        .delete(universeMembers)
        .where(
          and(
            eq(universeMembers.universeId, universeId),
            ne(universeMembers.playerId, playerId),
            isNull(universeMembers.removedAt),
          ),
        )
        .returning({ playerId: universeMembers.playerId });
      const [member] = await tx
        .insert(universeMembers)
        .values({ universeId, playerId, joinedAt: now })
        .onConflictDoUpdate({
          target: [universeMembers.universeId, universeMembers.playerId],
          set: { removedAt: null },
        })
        .returning();
      const [universe] = await tx
        .update(universes)
        .set({
          visibility: "private",
          settings: sql`${universes.settings} || jsonb_build_object('soloPlayerId', ${playerId}::text)`,
        })
        .where(eq(universes.id, universeId))
        .returning();
      return {
        universe: toUniverse(universe!),
        member: toMember(member!),
        removed: gone.map((row) => row.playerId),
      };
    });
  }

  async createInvite(
    invite: Pick<InviteRecord, "code" | "universeId" | "createdBy" | "expiresAt" | "maxUses">,
  ): Promise<InviteRecord> {
    const [row] = await this.db
      .insert(universeInvites)
      .values({
        ...invite,
        expiresAt: invite.expiresAt ? new Date(invite.expiresAt) : null,
        createdAt: this.clock(),
      })
      .returning();
    return toInvite(row!);
  }

  async listInvites(universeId: string): Promise<InviteRecord[]> {
    const rows = await this.db
      .select()
      .from(universeInvites)
      .where(eq(universeInvites.universeId, universeId))
      .orderBy(asc(universeInvites.createdAt), asc(universeInvites.code));
    return rows.map(toInvite);
  }

  async revokeInvite(universeId: string, code: string): Promise<InviteRecord | null> {
    const [row] = await this.db
      .update(universeInvites)
      .set({
        revokedAt: sql`coalesce(${universeInvites.revokedAt}, ${this.clock().toISOString()}::timestamptz)`,
      })
      .where(and(eq(universeInvites.universeId, universeId), eq(universeInvites.code, code)))
      .returning();
    return row ? toInvite(row) : null;
  }

  acceptInvite(code: string, playerId: string): Promise<InviteAcceptance & { universeId?: string }> {
    return this.db.transaction(async (tx) => {
      const now = this.clock();
      const [invite] = await tx
        .select()
        .from(universeInvites)
        .where(eq(universeInvites.code, code))
        .for("update");
      if (!invite) return { ok: false, reason: "invalid_invite", message: "no such invite" } as const;
      const [existing] = await tx
        .select()
        .from(universeMembers)
        .where(
          and(eq(universeMembers.universeId, invite.universeId), eq(universeMembers.playerId, playerId)),
        );
      // a game master is in already: their own invite, tried out, must stay for the player it is for
      const [gm] = await tx
        .select({ createdAt: universes.createdAt })
        .from(universes)
        .where(and(eq(universes.id, invite.universeId), gameMasterOf(playerId)));
      if (gm) {
        const member: MemberRecord =
          existing && !existing.removedAt
            ? toMember(existing)
            : {
                universeId: invite.universeId,
                playerId,
                inviteCode: null,
                joinedAt: iso(gm.createdAt),
                removedAt: null,
              };
        return { ok: true, member, universeId: invite.universeId } as const;
      }
      if (existing?.removedAt)
        return {
          ok: false,
          reason: "member_removed",
          message: REFUSAL_WORDS.memberRemoved,
        } as const;
      // accepting again is harmless and uses nothing up
      if (existing) return { ok: true, member: toMember(existing), universeId: invite.universeId } as const;
      const why = unusable(invite, now);
      if (why) return { ok: false, reason: "invalid_invite", message: why } as const;
      await tx
        .update(universeInvites)
        .set({ uses: sql`${universeInvites.uses} + 1` })
        .where(eq(universeInvites.code, code));
      const [row] = await tx
        .insert(universeMembers)
        .values({ universeId: invite.universeId, playerId, inviteCode: code, joinedAt: now })
        .returning();
      return { ok: true, member: toMember(row!), universeId: invite.universeId } as const;
    });
  }

  async setVisibility(universeId: string, visibility: UniverseVisibility): Promise<UniverseRecord | null> {
    const [row] = await this.db
      .update(universes)
      .set({ visibility })
      .where(eq(universes.id, universeId))
      .returning();
    return row ? toUniverse(row) : null;
  }

  async setCharacterLimits(
    universeId: string,
    change: Partial<CharacterLimits>,
  ): Promise<UniverseRecord | null> {
    const stored = sql`coalesce(${universes.settings} -> 'characterLimits', ${JSON.stringify(DEFAULT_CHARACTER_LIMITS)}::jsonb)`;
    const [row] = await this.db
      .update(universes)
      .set({
        settings: sql`${universes.settings} || jsonb_build_object('characterLimits', ${stored} || ${JSON.stringify(change)}::jsonb)`,
      })
      .where(eq(universes.id, universeId))
      .returning();
    return row ? toUniverse(row) : null;
  }

  async listVisibleUniverses(playerId: string | null, limit: number): Promise<UniverseRecord[]> {
    const mine =
      playerId === null
        ? undefined
        : or(
            gameMasterOf(playerId),
            sql`exists (select 1 from ${universeMembers} m where m.universe_id = ${universes.id}
              and m.player_id = ${playerId} and m.removed_at is null)`,
          );
    const rows = await this.db
      .select()
      .from(universes)
      .where(or(eq(universes.visibility, "public"), mine))
      .orderBy(desc(universes.createdAt), desc(universes.id))
      .limit(Math.max(1, Math.min(limit, 1000)));
    return rows.map(toUniverse);
  }

  async membershipsOf(playerId: string, universeIds: readonly string[]): Promise<MemberRecord[]> {
    if (universeIds.length === 0) return [];
    const rows = await this.db
      .select()
      .from(universeMembers)
      .where(
        and(
          eq(universeMembers.playerId, playerId),
          inArray(universeMembers.universeId, [...new Set(universeIds)]),
        ),
      );
    return rows.map(toMember);
  }

  createCharacterWithRun(input: NewCharacterWithRun): Promise<CharacterCreation> {
    const { character, run, limit } = input;
    return this.db.transaction(async (tx) => {
      const now = this.clock();
      const membership = and(
        eq(universeMembers.universeId, character.universeId),
        eq(universeMembers.playerId, character.playerId),
      );
      await tx
        .insert(universeMembers)
        .values({ universeId: character.universeId, playerId: character.playerId, joinedAt: now })
        .onConflictDoNothing();
      const [member] = await tx.select().from(universeMembers).where(membership).for("update");
      if (member?.removedAt)
        return {
          ok: false,
          reason: "member_removed",
          message: REFUSAL_WORDS.memberRemoved,
        } as const;
      const [counted] = await tx
        .select({ n: count() })
        .from(characters)
        .where(
          and(eq(characters.universeId, character.universeId), eq(characters.playerId, character.playerId)),
        );
      if ((counted?.n ?? 0) >= limit)
        return {
          ok: false,
          reason: "too_many_characters",
          message: `a player may have ${limit} characters in a universe`,
        } as const;
      const [characterRow] = await tx
        .insert(characters)
        .values({ ...character, createdAt: now })
        .returning();
      const [runRow] = await tx
        .insert(runs)
        .values({
          id: run.id,
          playerId: character.playerId,
          characterId: character.id,
          universeId: character.universeId,
          therapeuticFocus: run.therapeuticFocus,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return { ok: true, character: toCharacter(characterRow!), run: toRun(runRow!) } as const;
    });
  }

  startRun(run: NewRun): Promise<RunStart> {
    return this.db.transaction(async (tx) => {
      // every start of the character's runs queues here, so the one after sees the run before it
      await tx
        .select({ id: characters.id })
        .from(characters)
        .where(eq(characters.id, run.characterId))
        .for("update");
      const [open] = await tx
        .select()
        .from(runs)
        .where(
          and(
            eq(runs.characterId, run.characterId),
            eq(runs.universeId, run.universeId),
            inArray(runs.state, ["active", "paused"]),
          ),
        )
        .orderBy(asc(runs.createdAt), asc(runs.id))
        .limit(1);
      if (open) return { ok: false, reason: "run_open", open: toRun(open) } as const;
      const now = this.clock();
      const [row] = await tx
        .insert(runs)
        .values({ ...run, createdAt: now, updatedAt: now })
        .returning();
      return { ok: true, run: toRun(row!) } as const;
    });
  }
}
