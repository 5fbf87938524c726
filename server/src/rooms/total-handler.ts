import type { Client } from "@colyseus/core";
import { reject, RejectionCode, type Rejection } from "@loom/shared";
import { log } from "../log.ts";
import { frameBytes } from "./frame-size.ts";
import { seqOf } from "./intake.ts";

export interface HandlerContext {
  universeId: string;
  /** Who sent it, for the log: role and player id, or null before the client was admitted. */
  who(client: Client): string | null;
  reply(client: Client, seq: number | null, rejection: Rejection): void;
  /**
   * Whether the room is closing this connection for good (its member removed, its token
   * revoked): what it sends until the close completes is dropped, unanswered. A client that
   * ignores the close frame would otherwise act on for seconds.
   */
  closing(client: Client): boolean;
}

/**
 * A room message handler that cannot fail: whatever its work throws, synchronously or not, is
 * logged once with the universe, the member and the message type, and the sender gets an
 * `unavailable` rejection. A connection being closed for good is not heard. The frame's size is read here, before the work's first await.
 */
export function totalHandler(
  ctx: HandlerContext,
  type: string,
  handle: (client: Client, message: unknown, frameBytes: number) => Promise<void>,
): (client: Client, message: unknown) => void {
  return (client, message) => {
    if (ctx.closing(client)) return;
    const fail = (error: unknown) => handlerFailed(ctx, client, type, message, error);
    try {
      handle(client, message, frameBytes(client)).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

function handlerFailed(
  ctx: HandlerContext,
  client: Client,
  type: string,
  message: unknown,
  error: unknown,
): void {
  const who = ctx.who(client) ?? "a client not yet admitted";
  log.error(`universe ${ctx.universeId}: "${type}" from ${who} (session ${client.sessionId}) failed`, {
    err: error,
    universeId: ctx.universeId,
  });
  try {
    ctx.reply(
      client,
      seqOf(message),
      reject(RejectionCode.Unavailable, "the server failed while handling this message; try again"),
    );
  } catch (sendError) {
    log.warn(`universe ${ctx.universeId}: could not tell session ${client.sessionId} why`, {
      err: sendError,
      universeId: ctx.universeId,
    });
  }
}
