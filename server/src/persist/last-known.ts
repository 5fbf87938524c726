/**
 * Reads that fall back on their last answer when the database does not answer. During an outage
 * a player who steps away and comes back needs their universe, membership, run and character
 * records again to sit down; the process read them minutes earlier. Only a failed read is
 * answered from here: while the database answers, every read is fresh. (A record another process
 * changed just before the outage is served as this process last saw it until the database is
 * back; a change made here fails with the database anyway.)
 */
export function withLastKnown<T extends object, K extends keyof T & string>(
  store: T,
  methods: readonly K[],
  maxEntries = 20_000,
): T {
  const kept = new Map<string, unknown>();
  const remember = (key: string, value: unknown) => {
    kept.delete(key);
    if (kept.size >= maxEntries) kept.delete(kept.keys().next().value!);
    kept.set(key, value);
  };
  const wrapped = new Map<PropertyKey, unknown>();
  for (const method of methods) {
    const read = store[method] as unknown as (...args: unknown[]) => Promise<unknown>;
    wrapped.set(method, async (...args: unknown[]) => {
      const key = `${method}:${JSON.stringify(args)}`;
      try {
        const value = await read.apply(store, args);
        remember(key, value);
        return value;
      } catch (error) {
        if (kept.has(key)) return kept.get(key);
        throw error;
      }
    });
  }
  return new Proxy(store, {
    get(target, property, receiver) {
      return wrapped.get(property) ?? (Reflect.get(target, property, receiver) as unknown);
    },
  });
}
