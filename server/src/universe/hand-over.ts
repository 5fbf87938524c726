import { log } from "../log.ts";
import type { UniverseAuthority } from "./authority.ts";

/**
 * How a universe was given up: everything persisted; the unpersisted turns read back from the live
 * store (the next owner reads them there); or neither, when the process stopped first (the lease
 * is then left to lapse, never released: a new owner must not take it early).
 */
export type HandOver = "persisted" | "in-live-store" | "kept";

/**
 * Gives a universe up at the end of its room, without ever leaving acknowledged turns where no
 * next owner finds them. It persists what is pending; if the database cannot take it before the
 * deadline, the turns must be in the live store, read back (and written again where the store
 * lost them). Until one of the two holds, it keeps trying and keeps the lease, so no new owner
 * opens the universe from a database that is behind, unless the process stops meanwhile.
 */
export async function handOver(
  universeId: string,
  authority: UniverseAuthority,
  options: { drainMs: number; leaseTtlMs: number; stopped: () => boolean },
): Promise<HandOver> {
  for (let attempt = 1; ; attempt++) {
    if (await authority.drain(options.drainMs)) {
      await authority
        .settle()
        .catch((error: unknown) =>
          log.warn(`universe ${universeId}: the lease could not be settled`, { err: error, universeId }),
        );
      return "persisted";
    }
    // a fenced authority's turns conflict with the new owner's, which reads the stream itself
    if (authority.isFenced) return "in-live-store";
    if (options.stopped()) return "kept";
    const pending = authority.pendingCount;
    try {
      if ((await authority.keepLease(options.leaseTtlMs)) === "elsewhere") return "in-live-store";
      const restored = await authority.restoreLiveStore();
      if (await authority.unpersistedInLiveStore()) {
        log.warn(
          `universe ${universeId} closes with ${pending} turns not yet persisted; they are in the live store ` +
            `(read back${restored > 0 ? `, ${restored} written again` : ""}), where its next owner reads them`,
          { universeId },
        );
        return "in-live-store";
      }
    } catch (error) {
      if (attempt === 1)
        log.warn(`universe ${universeId}: the live store could not be read back`, { err: error, universeId });
    }
    if (attempt === 1 || attempt % 10 === 0)
      log.error(
        `universe ${universeId} cannot close: ${pending} turns are neither persisted nor verifiably in the ` +
          `live store; it keeps its lease and tries again (attempt ${attempt})`,
        { universeId },
      );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
