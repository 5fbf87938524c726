import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { answeredInTime } from "../answered-in-time.ts";
import { log } from "../log.ts";
import { noDelaySockets } from "./postgres-socket.ts";
import { EVERYTHING, type ChangeFeed, type TimelineChange } from "./timeline-changes.ts";

/** The channel the database's triggers announce timeline changes on (migrations/0013_timeline_notices.sql). */
export const TIMELINE_CHANNEL = "loom_timeline";

/** The listening connection's application_name: the process's id tells servers on one host apart. */
export const NOTICES_APPLICATION = `loom-timeline-notices ${process.pid}`;

export interface TimelineNoticesOptions {
  /**
   * How often the connection proves it still hears: a marker sent through it must come back
   * within the same time, or every copy is dropped as if the connection had closed. A connection
   * that dies without closing (a cable pulled, a frozen host) is noticed after at most twice this.
   */
  beatMs?: number;
  /** Seconds before connecting gives up. */
  connectTimeoutS?: number;
}

interface Notice {
  r?: string[];
  h?: string[];
  t?: Array<{ u: string; p: number | null }>;
  all?: true;
}

/**
 * Changes that other processes commit to the database, heard on one connection of this process's
 * own (LISTEN) and told to the same feed as this process's writes (watched-stores.ts). The
 * database announces them at commit (triggers), so a read made before a commit that returns
 * before its notice arrives is kept stale until then: for as long as the notice takes, a
 * millisecond or so on a healthy connection. While the connection is down nothing can be kept:
 * `watching()` is false, everything is told as changed when it goes and again when it is back
 * (a read that overlapped the gap may have missed a notice), and a heartbeat catches a connection
 * that stops hearing without closing.
 */
export class TimelineNotices {
  private sql: postgres.Sql | null = null;
  private listening = false;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private readonly markers = new Map<string, () => void>();
  private readonly tag = randomUUID();
  /**
   * Where this process's markers go: a channel of its own, so that other processes' listeners
   * are not woken by them. Postgres delivers a listener's notices in commit order whatever their
   * channel, so a marker still comes back after every notice committed before it.
   */
  private readonly markerChannel = `loom_timeline_${this.tag.replaceAll("-", "")}`;
  private sent = 0;
  private readonly beat: NodeJS.Timeout;
  private beating = false;
  private readonly beatMs: number;

  constructor(
    private readonly url: string,
    private readonly feed: ChangeFeed,
    private readonly options: TimelineNoticesOptions = {},
  ) {
    this.beatMs = options.beatMs ?? 1_000;
    this.beat = setInterval(() => void this.heartbeat(), this.beatMs).unref();
  }

  /** True while every change committed since the connection was last (re)established has been or will be heard. */
  watching(): boolean {
    return this.listening;
  }

  /** Connects and listens; resolves once listening or once the first attempt failed (it retries). */
  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * Resolves once every notice of a change committed before the call has been told: a marker sent
   * after them comes back after them (Postgres delivers notices in commit order).
   */
  async sync(): Promise<void> {
    const sql = this.sql;
    if (!sql || !this.listening) throw new Error("timeline notices: not listening");
    const marker = `sync:${this.tag}:${this.sent++}`;
    const heard = new Promise<void>((resolve) => this.markers.set(marker, resolve));
    try {
      await sql`select pg_notify(${this.markerChannel}, ${marker})`;
      await heard;
    } finally {
      this.markers.delete(marker);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.beat);
    this.down();
    const sql = this.sql;
    this.sql = null;
    await sql?.end({ timeout: 0 });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const sql = postgres(this.url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
      onnotice: () => {},
      connect_timeout: this.options.connectTimeoutS ?? 5,
      // so that an operator (or a test) can tell it apart in pg_stat_activity
      connection: { application_name: NOTICES_APPLICATION },
      // a closed connection may have missed notices: it is replaced, not reopened by a query
      onclose: () => {
        if (this.sql === sql) this.lost("closed");
      },
      // options postgres.js reads but does not declare (its own `listen` uses `onnotify` so)
      ...({
        socket: noDelaySockets(),
        onnotify: (channel: string, payload: string) => {
          if (this.sql !== sql) return;
          if (channel === this.markerChannel) this.markers.get(payload)?.();
          else if (channel === TIMELINE_CHANNEL) this.heard(payload);
        },
      } as object),
    });
    this.sql = sql;
    try {
      await sql.unsafe(`listen ${TIMELINE_CHANNEL}`);
      await sql.unsafe(`listen ${this.markerChannel}`);
      if (this.sql !== sql) return;
      // reads made while nothing was heard are dropped before anything is kept again
      this.feed.tell(EVERYTHING);
      this.listening = true;
    } catch (err) {
      if (this.sql === sql) this.lost("could not listen", err);
    }
  }

  /** Drops every copy, closes the connection and tries again shortly. */
  private lost(why: string, err?: unknown): void {
    const sql = this.sql;
    this.sql = null;
    if (this.listening) log.warn("timeline notices: connection lost, copies dropped", { why, err });
    this.down();
    void sql?.end({ timeout: 0 }).catch(() => undefined);
    if (!this.closed) setTimeout(() => void this.start(), Math.min(this.beatMs, 250)).unref();
  }

  private down(): void {
    const was = this.listening;
    this.listening = false;
    if (was) this.feed.tell(EVERYTHING);
  }

  private async heartbeat(): Promise<void> {
    if (!this.listening || this.beating) return;
    this.beating = true;
    const sql = this.sql;
    try {
      const heard = await answeredInTime(this.sync(), this.beatMs);
      if (!heard && this.sql === sql) this.lost("a heartbeat was not heard in time");
    } catch (err) {
      if (this.sql === sql && this.listening) this.lost("a heartbeat failed", err);
    } finally {
      this.beating = false;
    }
  }

  private heard(payload: string): void {
    // an older process's markers, sent on the shared channel
    if (payload.startsWith("sync:")) return;
    if (!this.listening) return;
    this.feed.tell(parsed(payload));
  }
}

function parsed(payload: string): TimelineChange {
  try {
    const notice = JSON.parse(payload) as Notice;
    if (notice.all) return EVERYTHING;
    return {
      records: notice.r ?? [],
      heads: notice.h ?? [],
      turns: (notice.t ?? []).map(({ u, p }) => ({ universeId: u, position: p })),
    };
  } catch (err) {
    log.warn("timeline notices: a notice was not understood; every copy dropped", { payload, err });
    return EVERYTHING;
  }
}
