import type { AckedTurn, SimMember } from "./member.ts";

/** How many of everything a run simulates. */
export interface Layout {
  universes: number;
  characters: number;
  spectatorsPerUniverse: number;
}

/** A turn as read back from storage: enough to check identity and order. */
export interface StoredTurn {
  position: number;
  id: string;
}

export interface FleetUniverse {
  index: number;
  id: string;
  gm: SimMember;
  /** The stored timeline, all pages; absent for the bare baseline, which stores nothing. */
  readTimeline?: () => Promise<StoredTurn[]>;
}

/** Every simulated member of every universe, and every turn the server acknowledged to them. */
export class Fleet {
  readonly universes: FleetUniverse[] = [];
  readonly members: SimMember[] = [];
  readonly acked: AckedTurn[] = [];

  /** Told of every acknowledged turn with when its command was sent (fault tests time recoveries). */
  onAck: ((turn: AckedTurn, sentAt: number) => void) | null = null;

  readonly recordAck = (turn: AckedTurn, sentAt: number): void => {
    this.acked.push(turn);
    this.onAck?.(turn, sentAt);
  };

  get players(): SimMember[] {
    return this.members.filter((member) => member.role === "player");
  }

  get gms(): SimMember[] {
    return this.members.filter((member) => member.role === "gm");
  }

  /** Leaves every room; a session whose room already closed may never answer, so each waits at most 2 s. */
  /** Close codes of members the server disconnected, and how many each. */
  dropped(): Record<string, number> {
    const codes: Record<string, number> = {};
    for (const member of this.members) {
      if (member.droppedWith !== null) codes[member.droppedWith] = (codes[member.droppedWith] ?? 0) + 1;
    }
    return codes;
  }

  async leave(): Promise<void> {
    await pool(this.members, 64, async (member) => {
      member.leaving = true;
      await within(member.session.leave(), 2_000).catch(() => undefined);
    });
  }
}

/** Runs `task` over `items` with at most `limit` in flight (setup would otherwise stampede the API). */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  });
  await Promise.all(workers);
}

/** Resolves like `promise`, or with undefined once `ms` pass. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
