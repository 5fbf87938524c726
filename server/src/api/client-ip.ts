import { isIPv6 } from "node:net";
import type { Request } from "express";

/**
 * The address a request's limits are counted against: `req.ip` (the socket's peer, or the
 * forwarded client when LOOM_TRUST_PROXY says which proxies to believe). An IPv6 client is one
 * /64, the block a single subscriber usually gets, so it cannot step round its limit by hopping
 * addresses inside it.
 */
export function clientIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? "unknown";
  if (!isIPv6(ip) || ip.startsWith("::ffff:")) return ip;
  return `${expand(ip).slice(0, 4).join(":")}::/64`;
}

function expand(ip: string): string[] {
  const [head = "", tail] = ip.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ""));
}
