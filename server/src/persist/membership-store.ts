import type {
  CharacterLimits,
  CharacterRecord,
  InviteRecord,
  ListedMember,
  MemberRecord,
  RunRecord,
  UniverseRecord,
  UniverseVisibility,
} from "@loom/shared";

export type { InviteRecord, ListedMember, MemberRecord, UniverseVisibility } from "@loom/shared";

export type InviteAcceptance =
  | { ok: true; member: MemberRecord }
  | { ok: false; reason: "invalid_invite" | "member_removed"; message: string };

export type CharacterCreation =
  | { ok: true; character: CharacterRecord; run: RunRecord }
  | { ok: false; reason: "too_many_characters" | "member_removed"; message: string };

export type NewRun = Pick<RunRecord, "id" | "playerId" | "characterId" | "universeId" | "therapeuticFocus">;

export type RunStart = { ok: true; run: RunRecord } | { ok: false; reason: "run_open"; open: RunRecord };

export interface SoloHandOver {
  universe: UniverseRecord;
  member: MemberRecord;
  /** Players who were members (not removed) and are no longer. */
  removed: string[];
}

export interface NewCharacterWithRun {
  character: Omit<CharacterRecord, "createdAt">;
  run: Pick<RunRecord, "id" | "therapeuticFocus">;
  /** Characters the player may have in this universe, this one included. */
  limit: number;
}

/**
 * The MembershipStore port: who besides its game masters may read, watch and play a universe,
 * and the invite codes that make a player a member. The adapters are the TurnStore's (one
 * database); the checks that must not race (an invite's uses, characters per player, one open
 * run per character) are decided inside one transaction.
 */
export interface MembershipStore {
  getMember(universeId: string, playerId: string): Promise<MemberRecord | null>;
  /** Its members, removed ones included, each with their registered name. */
  listMembers(universeId: string): Promise<ListedMember[]>;
  /** A game master adds (or re-admits) a player directly. */
  addMember(universeId: string, playerId: string): Promise<MemberRecord>;
  /** Marks the player removed (a guest of a public universe too, who has no membership yet). */
  removeMember(universeId: string, playerId: string): Promise<MemberRecord>;
  /**
   * A removal from `universeId` carried down its tree of branches: the player is marked removed
   * in every branch whose membership came with it from its parent (they were at the parent's
   * table when it was taken), and in every public one they have none of (as a guest), but in those
   * they are a game master of or were handed. The branches where they were not removed already.
   * Each removal there is dated `at`, the removal's own time in `universeId`, which a re-admission
   * finds it by (readmitToBranches).
   */
  removeFromBranches(universeId: string, playerId: string, at: string): Promise<string[]>;
  /**
   * A re-admission to `universeId` carried down its tree as its removal (dated `removedAt`) was:
   * the removals of that time in its branches (carried down, or copied into a branch taken after
   * it) are lifted, a public branch's guest marker goes; a removal a branch's game master made
   * there at another time stays. The branches where the player is back.
   */
  readmitToBranches(universeId: string, playerId: string, removedAt: string): Promise<string[]>;
  /** Members of `fromId` become members of `toId` too (a branch), and those removed stay removed there. */
  copyMembers(fromId: string, toId: string): Promise<void>;
  /**
   * Makes a universe (a branch) one player's own: they become its only member, every other
   * membership and open invite goes (a removal stays), and it turns private, so nobody else
   * joins without a new invite. One transaction.
   */
  handOver(universeId: string, playerId: string): Promise<SoloHandOver>;

  createInvite(
    invite: Pick<InviteRecord, "code" | "universeId" | "createdBy" | "expiresAt" | "maxUses">,
  ): Promise<InviteRecord>;
  listInvites(universeId: string): Promise<InviteRecord[]>;
  /** Null when the universe has no such code. */
  revokeInvite(universeId: string, code: string): Promise<InviteRecord | null>;
  /**
   * Counts a use and makes the player a member, unless the code is unusable or they were removed.
   * A game master of the universe is in already: nothing is counted or stored, and the answer is
   * their membership record, or (having none) one of their place since the universe began.
   */
  acceptInvite(code: string, playerId: string): Promise<InviteAcceptance & { universeId?: string }>;

  setVisibility(universeId: string, visibility: UniverseVisibility): Promise<UniverseRecord | null>;
  /**
   * Changes what a new character's sheet may hold in the universe, kept in its settings
   * (`characterLimits`): the parts given, over the limits stored (Fate Core's if none are), in one
   * statement, so that two changes of different parts both stand.
   */
  setCharacterLimits(universeId: string, change: Partial<CharacterLimits>): Promise<UniverseRecord | null>;
  /** Public universes and those the player is a game master or (not removed) member of, newest first. */
  listVisibleUniverses(playerId: string | null, limit: number): Promise<UniverseRecord[]>;
  /** The player's membership records (removed ones too) among `universeIds`. */
  membershipsOf(playerId: string, universeIds: readonly string[]): Promise<MemberRecord[]>;

  /**
   * Creates a character and its first run, counting the player's characters in the universe under
   * a lock on their membership (made on the way if missing), so parallel requests cannot pass the
   * limit together.
   */
  createCharacterWithRun(input: NewCharacterWithRun): Promise<CharacterCreation>;

  /**
   * A new run of an existing character, unless it already has an open (active or paused) run in
   * that universe: decided under a lock on the character's row, so parallel requests cannot open
   * two.
   */
  startRun(run: NewRun): Promise<RunStart>;
}
