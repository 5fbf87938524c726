import { Redis, type Command, type RedisOptions } from "ioredis";

type SentTo = Parameters<Redis["sendCommand"]>[1];

/**
 * An ioredis client whose command timeout does not fail a command Redis answered in time.
 *
 * ioredis's own `commandTimeout` timer fires in the event loop's timers phase, which runs before
 * the poll phase reads what waits in the sockets. After this thread was kept from running for
 * longer than the timeout (a core taken by other processes, a long collection), every command in
 * flight failed, answers already received included, and each failure turned an act into
 * `unavailable`. Here an expired timer waits for that poll phase (`setImmediate` runs after it)
 * and fails the command only if its answer is still missing: a Redis that hangs or is gone still
 * fails commands after the timeout, one loop turn later.
 */
export class StallTolerantRedis extends Redis {
  private readonly timeoutMs: number;

  constructor(url: string, options: RedisOptions & { commandTimeout: number }) {
    const { commandTimeout, ...rest } = options;
    super(url, rest);
    this.timeoutMs = commandTimeout;
  }

  override sendCommand(command: Command, stream?: SentTo): unknown {
    const sent = super.sendCommand(command, stream);
    // undefined only for what the constructor itself sends, before the timeout is known
    if (this.timeoutMs !== undefined && !command.isResolved) expireLater(command, this.timeoutMs);
    return sent;
  }
}

function expireLater(command: Command, ms: number): void {
  const timer = setTimeout(() => {
    setImmediate(() => {
      if (!command.isResolved) command.reject(new Error("Command timed out"));
    });
  }, ms);
  const clear = () => clearTimeout(timer);
  // settled either way: the handlers also keep this chain's rejection from being unhandled
  command.promise.then(clear, clear);
}
