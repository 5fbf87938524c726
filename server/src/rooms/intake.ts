import type { z } from "zod";
import {
  jsonValueProblem,
  LIMITS,
  MESSAGE_BOUNDS,
  reject,
  RejectionCode,
  type JoinRole,
  type Rejection,
} from "@loom/shared";
import type { TokenBucket } from "./rate-limit.ts";

export type Intake<T> = { ok: true; body: T } | { ok: false; seq: number | null; rejection: Rejection };

/** The sender's sequence number, echoed in a rejection only when it is one a client could have meant. */
export function seqOf(message: unknown): number | null {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return null;
  try {
    const raw = (message as { seq?: unknown }).seq;
    return typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0 ? raw : null;
  } catch {
    return null;
  }
}

/**
 * The checks every command message passes before it reaches the universe, in order: size, rate
 * (which every message counts against), JSON-value rule (storable text, finite numbers, no
 * prototype keys), shape, role. A failure is a coded rejection for the sender alone; nothing changes.
 * `frameBytes` is the size of the frame as it arrived (see frame-size.ts), not of the decoded
 * value. Total: whatever the message holds (BigInt, NaN, getters, cycles), it never throws.
 */
export function intake<S extends z.ZodType<{ seq: number }>>(
  schema: S,
  message: unknown,
  frameBytes: number,
  member: { role: JoinRole; bucket: TokenBucket },
  now: number,
): Intake<z.infer<S>> {
  const seq = seqOf(message);
  const refuse = (code: Rejection["code"], text: string): Intake<z.infer<S>> => ({
    ok: false,
    seq,
    rejection: reject(code, text),
  });
  // every message counts against the player's allowance, a malformed one too: reading one costs
  // about what deciding one does, and a flood of them must not slow the others at the table
  const allowed = member.bucket.take(now);
  if (frameBytes > LIMITS.messageBytesMax) {
    return refuse(RejectionCode.PayloadTooLarge, `messages are limited to ${LIMITS.messageBytesMax} bytes`);
  }
  if (!allowed) return refuse(RejectionCode.RateLimited, "too many actions; slow down");
  let parsed: ReturnType<S["safeParse"]>;
  try {
    const problem = jsonValueProblem(message, MESSAGE_BOUNDS);
    if (problem) return refuse(RejectionCode.InvalidMessage, `message: ${problem}`);
    parsed = schema.safeParse(message) as ReturnType<S["safeParse"]>;
  } catch {
    return refuse(RejectionCode.InvalidMessage, "message: not a valid message");
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(
      RejectionCode.InvalidMessage,
      `${issue?.path.map(String).join(".") || "message"}: ${issue?.message ?? "invalid"}`,
    );
  }
  if (member.role === "spectator")
    return refuse(RejectionCode.NotAllowed, "spectators watch; they cannot change the timeline");
  return { ok: true, body: parsed.data as z.infer<S> };
}
