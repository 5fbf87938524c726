import { gmCommand, playerCommand } from "./commands.ts";
import type { Fleet } from "./fleet.ts";
import type { SimMember } from "./member.ts";
import type { Recorder } from "./recorder.ts";

export interface DriveOptions {
  ratePerCharacter: number;
  /** Each GM's world events per second. */
  gmRate: number;
  durationMs: number;
  /** Each send moves by up to ±jitter of its interval, so characters do not fire in lockstep. */
  jitter: number;
  random: () => number;
  /** Called once a second while sending. */
  onSecond?: (elapsedS: number) => void;
  /** Stops sending before `durationMs` is up (a fault scenario ends when it has recovered). */
  signal?: AbortSignal;
}

/**
 * Open-loop load: every character sends on its own schedule whether or not earlier commands
 * were answered, so a slow server shows up as latency instead of quietly lowering the rate.
 */
export async function drive(fleet: Fleet, recorder: Recorder, options: DriveOptions): Promise<void> {
  for (const member of fleet.members) member.recorder = recorder;
  recorder.start();
  const start = performance.now();
  const end = start + options.durationMs;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const finished: Promise<void>[] = [];

  const schedule = (member: SimMember, rate: number) => {
    if (rate <= 0) return;
    const interval = 1000 / rate;
    const phase = options.random() * interval;
    let count = 0;
    finished.push(
      new Promise<void>((resolve) => {
        const next = () => {
          // a client that fell behind its schedule (its own event loop stalled) drops the slots
          // it missed instead of bursting them: a burst would measure the client's stall and
          // trip the server's rate limit
          while (start + phase + (count + 1) * interval < performance.now()) {
            count += 1;
            recorder.skipped += 1;
          }
          const at =
            start + phase + count * interval + (options.random() * 2 - 1) * options.jitter * interval;
          if (at >= end || options.signal?.aborted) return resolve();
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              if (options.signal?.aborted) return resolve();
              const command =
                member.role === "gm"
                  ? gmCommand(options.random, count)
                  : playerCommand(options.random, member.characterId!);
              member.act(command, recorder);
              count += 1;
              next();
            },
            Math.max(0, at - performance.now()),
          );
          timers.add(timer);
        };
        next();
      }),
    );
  };
  for (const member of fleet.members) {
    if (member.role === "player") schedule(member, options.ratePerCharacter);
    else if (member.role === "gm") schedule(member, options.gmRate);
  }
  const ticker = options.onSecond
    ? setInterval(() => options.onSecond!((performance.now() - start) / 1000), 1000)
    : null;
  await Promise.all(finished);
  recorder.stop();
  if (ticker) clearInterval(ticker);
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; says which. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Every universe's head as its members saw it (the furthest position any of them reached). */
export function observedHeads(fleet: Fleet): number[] {
  const heads = fleet.universes.map(() => 0);
  for (const member of fleet.members)
    heads[member.universe] = Math.max(heads[member.universe]!, member.watch.last);
  for (const turn of fleet.acked) heads[turn.universe] = Math.max(heads[turn.universe]!, turn.position);
  return heads;
}

/**
 * After sending stops: waits for every answer, for every member to catch up with its
 * universe's head, and for the durable and persisted marks; what is still missing then is
 * given up on (and counted as unanswered).
 */
export async function drain(fleet: Fleet, timeoutMs = 20_000): Promise<void> {
  await waitUntil(() => fleet.members.every((member) => member.pending === 0), timeoutMs);
  await waitUntil(() => {
    const heads = observedHeads(fleet);
    return fleet.members.every((member) => member.watch.last >= heads[member.universe]!);
  }, timeoutMs / 2);
  await waitUntil(() => fleet.members.every((member) => member.awaitingMarks === 0), timeoutMs);
  for (const member of fleet.members) member.abandon();
}
