import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { answeredInTime } from "../answered-in-time.ts";
import { log } from "../log.ts";
import type { StreamView } from "./live-store.ts";

/** Where Redis sends a tracking client's invalidations when it redirects them (RESP2). */
const INVALIDATE = "__redis__:invalidate";

/** How the connections' names begin (`CLIENT LIST`): the process's id, then the copies' own. */
export const COPIES_CONNECTION = `loom-stream-copies-${process.pid}`;

/** Every StreamCopies' reads in this process, for the metrics: answered from a copy, and sent to Redis. */
export const streamReadTotals = { copies: 0, reads: 0 };

export interface StreamCopiesOptions {
  /**
   * How often both connections prove they still answer: a PING on each must come back within the
   * same time, or every copy is dropped as if a connection had closed. A connection that dies
   * without closing is noticed after at most twice this.
   */
  beatMs?: number;
  /** Universes whose streams are kept at most; the one read longest ago goes first. */
  keep?: number;
}

export interface StreamSource {
  /** A new client on the store's Redis, not yet connected (`lazyConnect`), named `name`. */
  connect(name: string): Redis;
  /** The store's read of a stream (`readStream`), made on the given client. */
  readOn(client: Redis, universeId: string): Promise<StreamView>;
  /** The store's read on its own connection: what a read is while nothing is heard. */
  read(universeId: string): Promise<StreamView>;
}

interface Reading {
  count: number;
  /** A change was told while a read was in flight: what it returns may be stale, and is not kept. */
  changed: boolean;
}

/**
 * Copies of universes' write-ahead streams as last read, for reads that come again and again while
 * the stream stands still: the timeline scrubber, whose one round trip left was this read.
 *
 * Redis says when a copy goes stale. The reads are made on a connection of their own with client
 * tracking on (`CLIENT TRACKING ON REDIRECT`): Redis remembers the keys it read and, at the first
 * write to one, whoever makes it, sends an invalidation to a second connection subscribed to
 * `__redis__:invalidate`. This process's own writes (the store's appends, trims and drops) are
 * also told directly (`changed`) once Redis answered them, before an act they append is
 * acknowledged. Another process's append is acknowledged to its player before its invalidation
 * reaches this one: for that long, under a millisecond on a healthy connection, a read here is
 * answered from the stream as it was.
 *
 * While either connection is down nothing is kept and reads go to the store's own connection:
 * every copy is dropped when one goes and again when both are back (Redis forgets a client's
 * tracking with its connection), and a heartbeat catches a connection that stops answering without
 * closing.
 */
export class StreamCopies {
  private sub: Redis | null = null;
  private reader: Redis | null = null;
  private watching = false;
  private closed = false;
  /** Once started, a lost or refused start is retried by its own timer (`lost`), backing off. */
  private started = false;
  private starting: Promise<void> | null = null;
  /** Moves whenever watching starts or stops: a read that spans a move is not kept. */
  private epoch = 0;
  private readonly kept = new Map<string, StreamView>();
  private readonly reading = new Map<string, Reading>();
  private readonly beat: NodeJS.Timeout;
  private beating = false;
  /** Attempts to start that failed since watching last: each waits longer for the next. */
  private failures = 0;
  private readonly beatMs: number;
  private readonly keep: number;
  /** The name both connections give themselves, so that an operator (or a test) can tell them apart. */
  readonly connectionName = `${COPIES_CONNECTION}-${randomUUID().slice(0, 8)}`;
  /** Reads answered from a copy, and reads sent to Redis (tests and diagnostics). */
  readonly counts = { copies: 0, reads: 0 };

  constructor(
    private readonly source: StreamSource,
    options: StreamCopiesOptions = {},
  ) {
    this.beatMs = options.beatMs ?? 1_000;
    this.keep = options.keep ?? 64;
    this.beat = setInterval(() => void this.heartbeat(), this.beatMs).unref();
  }

  /** True while every change to a stream read on the tracking connection will be heard. */
  isWatching(): boolean {
    return this.watching;
  }

  /** Connects both connections and turns tracking on; resolves once watching or once an attempt failed (it retries). */
  start(): Promise<void> {
    this.started = true;
    this.starting ??= this.connect().finally(() => (this.starting = null));
    return this.starting;
  }

  /** The universe's stream, from its copy when nothing changed it since it was read. */
  async readStream(universeId: string): Promise<StreamView> {
    const reader = this.reader;
    if (!this.watching || !reader) {
      if (!this.started) void this.start();
      return this.source.read(universeId);
    }
    const copy = this.kept.get(universeId);
    if (copy) {
      this.counts.copies++;
      streamReadTotals.copies++;
      // read last goes last out
      this.kept.delete(universeId);
      this.kept.set(universeId, copy);
      return copy;
    }
    const epoch = this.epoch;
    const reading = this.reading.get(universeId) ?? { count: 0, changed: false };
    reading.count++;
    this.reading.set(universeId, reading);
    this.counts.reads++;
    streamReadTotals.reads++;
    try {
      const view = await this.source.readOn(reader, universeId);
      if (this.watching && this.epoch === epoch && !reading.changed) this.remember(universeId, view);
      return view;
    } catch (err) {
      // a connection that fails a read may have lost what it tracked
      if (this.reader === reader) this.lost("a read failed", err);
      return this.source.read(universeId);
    } finally {
      if (--reading.count === 0) this.reading.delete(universeId);
    }
  }

  /** This process changed the universe's stream (Redis answered the write): its copy goes. */
  changed(universeId: string): void {
    this.kept.delete(universeId);
    const reading = this.reading.get(universeId);
    if (reading) reading.changed = true;
  }

  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.beat);
    const { sub, reader } = this;
    this.down();
    this.sub = this.reader = null;
    // a start under way finds itself replaced and stops there
    sub?.disconnect();
    reader?.disconnect();
    return Promise.resolve();
  }

  private remember(universeId: string, view: StreamView): void {
    Object.freeze(view.turns);
    this.kept.set(universeId, Object.freeze(view));
    if (this.kept.size > this.keep) this.kept.delete(this.kept.keys().next().value!);
  }

  private async connect(): Promise<void> {
    if (this.closed || this.watching) return;
    const sub = this.source.connect(this.connectionName);
    const reader = this.source.connect(this.connectionName);
    this.sub = sub;
    this.reader = reader;
    for (const client of [sub, reader]) {
      client.on("error", () => undefined);
      // a closed connection may have missed invalidations, or lost its tracking: both are replaced
      client.on("close", () => {
        if (this.sub === sub) this.lost("a connection closed");
      });
    }
    sub.on("messageBuffer", (channel: Buffer, message: Buffer | Buffer[] | null) => {
      if (this.sub === sub && channel.toString() === INVALIDATE) this.invalidated(message);
    });
    try {
      await Promise.all([sub.connect(), reader.connect()]);
      const id = await sub.client("ID");
      await sub.subscribe(INVALIDATE);
      await reader.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(id));
      if (this.sub !== sub) return;
      // anything read before now was not tracked by these connections
      this.epoch++;
      this.kept.clear();
      this.watching = true;
      this.failures = 0;
    } catch (err) {
      if (this.sub !== sub) return;
      // a Redis that refuses tracking (older than 6, or CLIENT disabled) is told once
      if (this.failures === 0)
        log.warn("stream copies: could not start; scrubs read live streams from Redis until they do", {
          err,
        });
      this.failures++;
      this.lost("could not start tracking", err);
    }
  }

  /** Keys Redis says changed; null when the whole database was flushed. */
  private invalidated(message: Buffer | Buffer[] | null): void {
    if (message === null) {
      this.dropAll();
      return;
    }
    for (const key of Array.isArray(message) ? message : [message]) {
      const universeId = /^loom:u:\{(.*)\}:wal$/.exec(key.toString())?.[1];
      if (universeId !== undefined) this.changed(universeId);
    }
  }

  /** Drops every copy, closes both connections and tries again shortly. */
  private lost(why: string, err?: unknown): void {
    const { sub, reader } = this;
    this.sub = this.reader = null;
    if (this.watching) log.warn("stream copies: a connection was lost, copies dropped", { why, err });
    this.down();
    sub?.disconnect();
    reader?.disconnect();
    const wait = Math.min(Math.min(this.beatMs, 250) * 2 ** this.failures, 30_000);
    if (!this.closed) setTimeout(() => void this.start(), wait).unref();
  }

  private down(): void {
    this.watching = false;
    this.epoch++;
    this.dropAll();
  }

  private dropAll(): void {
    this.kept.clear();
    for (const reading of this.reading.values()) reading.changed = true;
  }

  private async heartbeat(): Promise<void> {
    const { sub, reader } = this;
    if (!this.watching || this.beating || !sub || !reader) return;
    this.beating = true;
    try {
      const answered = await answeredInTime(Promise.all([sub.ping(), reader.ping()]), this.beatMs);
      if (!answered && this.sub === sub) this.lost("a heartbeat was not answered in time");
    } catch (err) {
      if (this.sub === sub) this.lost("a heartbeat failed", err);
    } finally {
      this.beating = false;
    }
  }
}
