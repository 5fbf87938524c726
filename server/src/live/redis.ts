import type { Redis } from "ioredis";
import type { Turn, UniverseState } from "@loom/shared";
import { FencedError, TurnOrderError, type Lease, type LiveStore, type StreamView } from "./live-store.ts";
import { checkBatch, checkPosition, checkTtl } from "./checks.ts";
import { outputBatch } from "../rooms/output-batch.ts";
import { StallTolerantRedis } from "./stall-tolerant-redis.ts";
import { StreamCopies, type StreamCopiesOptions } from "./stream-copies.ts";
import {
  acquireScript,
  appendScript,
  ensureStreamScript,
  putStateScript,
  readStreamScript,
  releaseScript,
  renewScript,
} from "./redis-scripts.ts";

/** Stream entries fetched per XRANGE call when reading a tail. */
const READ_PAGE = 1000;

/** Whether an id can name a universe's keys: braces would break their hash tag. */
function keyable(universeId: string): boolean {
  return !/[{}]/.test(universeId);
}

/**
 * Keys of one universe. The `{universeId}` hash tag puts them in one cluster slot, which the Lua
 * scripts need: each touches the lock together with the stream or the state.
 */
export function universeKeys(universeId: string) {
  if (!keyable(universeId)) throw new RangeError(`universe id must not contain braces: ${universeId}`);
  const prefix = `loom:u:{${universeId}}`;
  return { lock: `${prefix}:lock`, fence: `${prefix}:fence`, wal: `${prefix}:wal`, state: `${prefix}:state` };
}

type StreamEntry = [id: string, fields: string[]];

/**
 * The LiveStore on Redis: a lock with a fencing token (`SET NX PX`, token from `INCR`), the
 * write-ahead stream of turns with entry ids `<position>-0`, and the current state as JSON.
 * Every guarded write is one Lua script, so each call is one round trip whatever its size.
 */
export class RedisLiveStore implements LiveStore {
  readonly kind = "redis";
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private copies: StreamCopies | null = null;

  /**
   * Takes a URL (the store owns the connection) or a client the caller keeps and closes. Every
   * command on its own connection fails after `commandTimeoutMs` (default 750): a Redis that hangs
   * or is gone makes an act fail fast with `unavailable` instead of waiting out its reconnections.
   * An answer that arrived while this thread was busy is in time (stall-tolerant-redis.ts).
   * A command that timed out may still run later, in order, when Redis answers again; callers
   * treat its outcome as unknown (see UniverseAuthority's reconciliation).
   */
  constructor(connection: string | Redis, options: { commandTimeoutMs?: number } = {}) {
    this.ownsClient = typeof connection === "string";
    this.redis =
      typeof connection === "string"
        ? new StallTolerantRedis(connection, {
            commandTimeout: options.commandTimeoutMs ?? 750,
            connectTimeout: 2_000,
            // reconnect quickly and forever: a Redis back after a restart is used at once
            retryStrategy: (times) => Math.min(50 * times, 500),
          })
        : connection;
    // a dropped connection is reported by the commands it fails; the client reconnects by itself
    this.redis.on("error", () => undefined);
  }

  async close(): Promise<void> {
    await this.copies?.close();
    if (!this.ownsClient) return;
    // a connection that closed before QUIT was answered (its socket went first) is closed all the same
    await this.redis.quit().catch((error: unknown) => {
      if (this.redis.status !== "end") throw error;
    });
  }

  /**
   * Reads of streams answered from copies that Redis says when to drop (stream-copies.ts): one
   * set per store, made at the first call (with its options), its connections opened at its first read.
   */
  streamCopies(options?: StreamCopiesOptions): StreamCopies {
    this.copies ??= new StreamCopies(
      {
        connect: (connectionName) =>
          this.redis.duplicate({
            lazyConnect: true,
            // a connection that drops is replaced whole, with everything it tracked
            retryStrategy: () => null,
            enableOfflineQueue: false,
            // no timeout of its own: a read that hangs fails when the heartbeat replaces the connection
            connectionName,
          }),
        readOn: (client, universeId) => this.readStreamOn(client, universeId),
        read: (universeId) => this.readStream(universeId),
      },
      options,
    );
    return this.copies;
  }

  async acquire(universeId: string, owner: string, ttlMs: number, floor = 0): Promise<Lease | null> {
    const keys = universeKeys(universeId);
    checkPosition(floor);
    const token = await acquireScript.run(
      this.redis,
      [keys.lock, keys.fence],
      [owner, checkTtl(ttlMs), floor],
    );
    return typeof token === "number" ? { universeId, owner, token } : null;
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const { lock } = universeKeys(lease.universeId);
    return (await renewScript.run(this.redis, [lock], [lockValue(lease), checkTtl(ttlMs)])) === 1;
  }

  async release(lease: Lease): Promise<void> {
    const { lock } = universeKeys(lease.universeId);
    await releaseScript.run(this.redis, [lock], [lockValue(lease)]);
  }

  async owner(universeId: string): Promise<{ owner: string; token: number } | null> {
    const value = await this.redis.get(universeKeys(universeId).lock);
    if (value === null) return null;
    const sep = value.lastIndexOf(":");
    return { owner: value.slice(0, sep), token: Number(value.slice(sep + 1)) };
  }

  async appendTurns(lease: Lease, turns: Turn[]): Promise<void> {
    checkBatch(lease, turns);
    const { lock, wal } = universeKeys(lease.universeId);
    const args: Array<string | number> = [lockValue(lease)];
    for (const turn of turns) args.push(turn.position, JSON.stringify(turn));
    // appends of every universe decided in this loop turn leave in one write (and one read for Redis)
    if (this.redis.status === "ready") outputBatch.holdSocket(this.redis.stream);
    try {
      await appendScript.run(this.redis, [lock, wal], args);
    } catch (error) {
      throw this.scriptError(error, lease);
    } finally {
      // before the caller acknowledges what it appended (a timed-out append may still land: Redis tells that one)
      this.copies?.changed(lease.universeId);
    }
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async streamExists(universeId: string): Promise<boolean> {
    return (await this.redis.exists(universeKeys(universeId).wal)) === 1;
  }

  async ensureStream(lease: Lease, afterPosition: number): Promise<void> {
    const { lock, wal } = universeKeys(lease.universeId);
    checkPosition(afterPosition);
    try {
      await ensureStreamScript.run(this.redis, [lock, wal], [lockValue(lease), afterPosition]);
    } catch (error) {
      throw this.scriptError(error, lease);
    } finally {
      this.copies?.changed(lease.universeId);
    }
  }

  readTail(universeId: string, afterPosition: number): Promise<Turn[]> {
    return this.readTailOn(this.redis, universeId, afterPosition);
  }

  private async readTailOn(client: Redis, universeId: string, afterPosition: number): Promise<Turn[]> {
    const { wal } = universeKeys(universeId);
    const turns: Turn[] = [];
    let from = Math.max(0, Math.floor(afterPosition)) + 1;
    for (;;) {
      const entries = (await client.xrange(wal, `${from}-0`, "+", "COUNT", READ_PAGE)) as StreamEntry[];
      for (const [, fields] of entries) turns.push(JSON.parse(field(fields, "t")) as Turn);
      if (entries.length < READ_PAGE) return turns;
      from = Number(field(entries.at(-1)![1], "p")) + 1;
    }
  }

  async streamHead(universeId: string): Promise<number> {
    const { wal } = universeKeys(universeId);
    const [newest] = (await this.redis.xrevrange(wal, "+", "-", "COUNT", 1)) as StreamEntry[];
    return newest ? Number(field(newest[1], "p")) : 0;
  }

  readStream(universeId: string): Promise<StreamView> {
    // no write takes an id with braces (universeKeys), so no stream holds one: a read of such an
    // id (a request's path, before the universe is known) finds none, as for any unknown id
    if (!keyable(universeId)) return Promise.resolve({ turns: [], last: 0 });
    return this.readStreamOn(this.redis, universeId);
  }

  private async readStreamOn(client: Redis, universeId: string): Promise<StreamView> {
    const { wal } = universeKeys(universeId);
    const [lastId, entries] = (await readStreamScript.run(client, [wal], [READ_PAGE])) as [
      string,
      StreamEntry[],
    ];
    const last = Number(lastId.split("-")[0]);
    const turns = entries.map(([, fields]) => JSON.parse(field(fields, "t")) as Turn);
    // a longer stream's other pages are read after: a trim in between leaves a gap, which the
    // reader sees against `last` (live-turn.ts) and reads again the careful way
    if (entries.length === READ_PAGE)
      turns.push(...(await this.readTailOn(client, universeId, turns.at(-1)!.position)));
    return { turns: turns.filter((turn) => turn.position <= last), last };
  }

  async trim(universeId: string, throughPosition: number): Promise<void> {
    try {
      await this.redis.xtrim(universeKeys(universeId).wal, "MINID", `${Math.floor(throughPosition) + 1}-0`);
    } finally {
      this.copies?.changed(universeId);
    }
  }

  async putState(lease: Lease, position: number, state: UniverseState): Promise<void> {
    checkPosition(position);
    const keys = universeKeys(lease.universeId);
    try {
      await putStateScript.run(
        this.redis,
        [keys.lock, keys.state],
        [lockValue(lease), JSON.stringify({ position, state })],
      );
    } catch (error) {
      throw this.scriptError(error, lease);
    }
  }

  async getState(universeId: string): Promise<{ position: number; state: UniverseState } | null> {
    const json = await this.redis.get(universeKeys(universeId).state);
    return json === null ? null : (JSON.parse(json) as { position: number; state: UniverseState });
  }

  async drop(universeId: string): Promise<void> {
    const keys = universeKeys(universeId);
    try {
      await this.redis.del(keys.lock, keys.fence, keys.wal, keys.state);
    } finally {
      this.copies?.changed(universeId);
    }
  }

  /** Maps the scripts' coded error replies to the port's errors; anything else keeps its cause. */
  private scriptError(error: unknown, lease: Lease): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("FENCED")) return new FencedError(lease.universeId, lease.token);
    const order = /^TURN_ORDER (\d+)/.exec(message);
    if (order) return new TurnOrderError(lease.universeId, Number(order[1]));
    return error instanceof Error ? error : new Error(message);
  }
}

function lockValue(lease: Lease): string {
  return `${lease.owner}:${lease.token}`;
}

function field(fields: string[], name: string): string {
  const index = fields.indexOf(name);
  if (index < 0 || index % 2 !== 0) throw new Error(`stream entry without field "${name}"`);
  return fields[index + 1]!;
}
