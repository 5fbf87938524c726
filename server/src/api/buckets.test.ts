import { describe, expect, it } from "vitest";
import type { Request } from "express";
import { KeyedBuckets } from "./buckets.ts";
import { clientIp } from "./client-ip.ts";

describe("keyed token buckets", () => {
  it("allow a burst, then say how long to wait, and refill evenly", () => {
    // given 3 requests per 60 s
    let now = 0;
    const buckets = new KeyedBuckets({ burst: 3, perSeconds: 60 }, () => now);
    // when a key spends its burst
    expect([buckets.take("a"), buckets.take("a"), buckets.take("a")]).toEqual([0, 0, 0]);
    // then the next waits for one token (20 s), while another key is untouched
    expect(buckets.take("a")).toBe(20);
    expect(buckets.take("b")).toBe(0);
    now += 19_000;
    expect(buckets.take("a")).toBe(1);
    now += 1_000;
    expect(buckets.take("a")).toBe(0);
  });

  it("keep memory bounded by forgetting full buckets first", () => {
    let now = 0;
    const buckets = new KeyedBuckets({ burst: 1, perSeconds: 1 }, () => now, 3);
    buckets.take("spent");
    now += 10; // "spent" stays empty; the others will be full by the time the map overflows
    for (const key of ["x", "y"]) buckets.take(key);
    now += 5_000;
    buckets.take("spent");
    buckets.take("z"); // evicts x and y (full again), keeps "spent"
    expect(buckets.take("spent")).toBeGreaterThan(0);
  });

  it("a clock that moves backwards refills nothing", () => {
    let now = 10_000;
    const buckets = new KeyedBuckets({ burst: 1, perSeconds: 10 }, () => now);
    buckets.take("a");
    now -= 5_000;
    expect(buckets.take("a")).toBeGreaterThan(0);
  });
});

describe("clientIp", () => {
  const request = (ip: string) => ({ ip, socket: {} }) as unknown as Request;
  it("keys IPv4 by address and IPv6 by its /64", () => {
    expect(clientIp(request("203.0.113.9"))).toBe("203.0.113.9");
    expect(clientIp(request("::ffff:127.0.0.1"))).toBe("::ffff:127.0.0.1");
    expect(clientIp(request("2001:db8:1:2::5"))).toBe("2001:db8:1:2::/64");
    expect(clientIp(request("2001:0db8:0001:0002:ffff:1:2:3"))).toBe("2001:db8:1:2::/64");
    expect(clientIp(request("::1"))).toBe("0:0:0:0::/64");
  });
});
