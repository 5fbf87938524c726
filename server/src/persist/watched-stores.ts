import type { MembershipStore } from "./membership-store.ts";
import type { TurnStore } from "./turn-store.ts";
import {
  MEMBERSHIP_CHANGES,
  TURN_STORE_CHANGES,
  toldAround,
  type ChangeFeed,
  type Classify,
  type TimelineWatch,
  type TimelineWatching,
} from "./timeline-changes.ts";

const TURN_STORE_METHODS: Record<
  Exclude<keyof TurnStore, "driver" | "close" | "watchChanges" | "watching" | "caughtUp">,
  Classify
> = TURN_STORE_CHANGES;
const MEMBERSHIP_METHODS: Record<keyof MembershipStore, Classify> = MEMBERSHIP_CHANGES;

/**
 * A store whose writes are told to `feed` before they are sent and once they settle, as the
 * embedded worker store's are (worker-store.ts): this process's own writes, with no window. What
 * other processes write reaches the same feed from the database (timeline-notices.ts).
 */
function watched<T extends object>(
  store: T,
  methods: Readonly<Record<string, Classify>>,
  feed: ChangeFeed,
  added: Record<string, unknown> = {},
): T {
  const wrapped = new Map<PropertyKey, unknown>(Object.entries(added));
  for (const [method, classify] of Object.entries(methods)) {
    const write = (store as Record<string, unknown>)[method] as (...args: unknown[]) => Promise<unknown>;
    wrapped.set(method, (...args: unknown[]) =>
      toldAround(feed, classify(args), () => write.apply(store, args)),
    );
  }
  return new Proxy(store, {
    get(target, property, receiver) {
      return wrapped.get(property) ?? (Reflect.get(target, property, receiver) as unknown);
    },
  });
}

/** `remote`: how this process hears other processes' writes (timeline-notices.ts). */
export function watchedTurnStore(
  store: TurnStore,
  feed: ChangeFeed,
  remote: { watching(): boolean; sync(): Promise<void> },
): TurnStore & TimelineWatch & Required<TimelineWatching> {
  const added: TimelineWatch & Required<TimelineWatching> = {
    watchChanges: (listener) => feed.watchChanges(listener),
    watching: () => remote.watching(),
    caughtUp: () => remote.sync(),
  };
  return watched(store, TURN_STORE_METHODS, feed, { ...added }) as TurnStore &
    TimelineWatch &
    Required<TimelineWatching>;
}

export function watchedMemberships(store: MembershipStore, feed: ChangeFeed): MembershipStore {
  return watched(store, MEMBERSHIP_METHODS, feed);
}
