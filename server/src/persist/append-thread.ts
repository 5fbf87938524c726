import { Worker } from "node:worker_threads";
import { bundledEntry } from "../worker-bundle.ts";
import type { PoolOptions } from "./postgres-pool.ts";
import { log } from "../log.ts";
import { revive } from "./revive.ts";
import type { AppendCall, AppendReply } from "./append-worker.ts";
import type { AppendOutcome, AppendRequest } from "./turn-store.ts";

/** Connections of the thread's pool: one group commit runs at a time, the second is for a retry's. */
const THREAD_POOL = 2;

interface Call {
  resolve(outcomes: AppendOutcome[]): void;
  reject(error: Error): void;
}

/** One started thread and the commits it holds. */
interface Running {
  worker: Worker;
  calls: Map<number, Call>;
}

/**
 * Postgres group commits (TurnStore.appendMany) made on a thread of their own, with a pool of
 * its own. A commit is about seven round trips (begin, the heads with the snapshots, the COPY's
 * two, the runs, their writes, commit), and on the rooms' thread each answer waits for a turn of
 * a loop that is busy with every member's socket: at full size a commit of tens of milliseconds
 * of database work took hundreds. Here the answers are read as they come, and the COPY's text is
 * made beside the rooms rather than between their messages. The turns cross over by structured
 * clone, the snapshots as their canonical text.
 *
 * Off by default (`LOOM_APPEND_THREAD`): on two shared cores it did not make the load runs
 * better, and cloning the turns costs CPU (docs/performance.md, "Group commits on a thread of
 * their own").
 *
 * The thread starts with the first commit, from a bundle of its modules (worker-bundle.ts) where
 * one can be had. A thread that stops fails the commits it held (their persisters try again, as
 * after any failed write) and the next commit starts another.
 */
export class AppendThread {
  private running: Promise<Running> | null = null;
  private next = 0;
  private closed = false;

  constructor(private readonly options: PoolOptions & { databaseUrl: string }) {}

  appendMany(requests: AppendRequest[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new Error("the append thread is closed"));
    return this.call((id) => ({ id, requests }));
  }

  /** Ends the thread's pool and the thread; commits still in flight finish first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const running = await this.running?.catch(() => null);
    if (!running) return;
    await this.call((id) => ({ id, close: true }), running).catch(() => undefined);
    await running.worker.terminate();
  }

  private async call(message: (id: number) => AppendCall, on?: Running): Promise<AppendOutcome[]> {
    const running = on ?? (await (this.running ??= this.start()));
    const id = this.next++;
    // a commit in flight keeps the process alive; an idle thread does not
    if (running.calls.size === 0) running.worker.ref();
    return new Promise((resolve, reject) => {
      running.calls.set(id, { resolve, reject });
      running.worker.postMessage(message(id));
    });
  }

  private async start(): Promise<Running> {
    // without a bundle, the boot file registers tsx in the worker, whatever loaded TypeScript here
    const entry =
      (await bundledEntry(new URL("./append-worker.ts", import.meta.url))) ??
      new URL("./append-worker-boot.mjs", import.meta.url);
    const worker = new Worker(entry, { workerData: { ...this.options, poolSize: THREAD_POOL } });
    const running: Running = { worker, calls: new Map() };
    worker.on("message", (reply: AppendReply) => {
      if (reply.id === -1 && reply.error) {
        log.error("uncaught exception on the append thread (serving on)", { err: revive(reply.error) });
        return;
      }
      const call = running.calls.get(reply.id);
      if (!call) return;
      running.calls.delete(reply.id);
      if (running.calls.size === 0) worker.unref();
      if (reply.error) call.reject(revive(reply.error));
      else call.resolve(reply.outcomes ?? []);
    });
    let gone = false;
    const lost = (error: Error) => {
      if (!gone) {
        gone = true;
        // the next commit starts another thread
        this.running = null;
      }
      for (const call of running.calls.values()) call.reject(error);
      running.calls.clear();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the append thread stopped (exit code ${code})`)));
    return running;
  }
}
