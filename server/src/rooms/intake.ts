import type { z } from "zod";
import { LIMITS, reject, RejectionCode, type JoinRole, type Rejection } from "@loom/shared";
import type { TokenBucket } from "./rate-limit.ts";

export type Intake<T> = { ok: true; body: T } | { ok: false; seq: number | null; rejection: Rejection };

/**
 * The checks every command message passes before it reaches the universe, in order: size,
 * shape, rate, role. A failure is a coded rejection for the sender alone; nothing changes.
 */
export function intake<S extends z.ZodType<{ seq: number }>>(
  schema: S,
  message: unknown,
  member: { role: JoinRole; bucket: TokenBucket },
  now: number,
): Intake<z.infer<S>> {
  const raw = (message as { seq?: unknown } | null)?.seq;
  const seq = typeof raw === "number" ? raw : null;
  const refuse = (code: Rejection["code"], text: string): Intake<z.infer<S>> => ({
    ok: false,
    seq,
    rejection: reject(code, text),
  });
  if (JSON.stringify(message ?? null).length > LIMITS.messageBytesMax) {
    return refuse(RejectionCode.PayloadTooLarge, `messages are limited to ${LIMITS.messageBytesMax} bytes`);
  }
  const parsed = schema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(
      RejectionCode.InvalidMessage,
      `${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}`,
    );
  }
  if (!member.bucket.take(now)) return refuse(RejectionCode.RateLimited, "too many actions; slow down");
  if (member.role === "spectator")
    return refuse(RejectionCode.NotAllowed, "spectators watch; they cannot change the timeline");
  return { ok: true, body: parsed.data };
}
