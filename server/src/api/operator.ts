import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { services } from "../services.ts";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Whether the request carries LOOM_OPERATOR_TOKEN as its bearer token: the caller may read which
 * universes fail and the errors' own words (addresses, host names) on /healthz, /readyz and
 * /metrics.json. A token rather than "from loopback": behind a proxy or a load balancer every
 * request may come from a local address. Compared in constant time, digests of equal length.
 * Unset, nobody is: the log has the same details.
 */
export function isOperator(req: Request): boolean {
  const token = services().config.operatorToken;
  const header = req.headers.authorization ?? "";
  if (!token || !header.startsWith("Bearer ")) return false;
  return timingSafeEqual(digest(header.slice("Bearer ".length).trim()), digest(token));
}
