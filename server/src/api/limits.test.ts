import { describe, expect, it } from "vitest";
import { BusyError, RateLimitedError, RequestLimits } from "./limits.ts";

function limits(exportsAtOnce: number, burst: number): RequestLimits {
  const off = {
    registerPerIp: null,
    loginPerIp: null,
    loginPerAccount: null,
    writePerIp: null,
    writePerPlayer: null,
  };
  return new RequestLimits({ ...off, exportPerPlayer: { burst, perSeconds: 60 }, exportsAtOnce }, () => 0);
}

describe("export limits", () => {
  it("a busy process refuses an export without spending the player's token", () => {
    // given one slot, taken, and a player with one export a minute
    const server = limits(1, 1);
    const held = server.startExport("someone");
    // when the player asks while it is taken
    expect(() => server.startExport("ada")).toThrow(BusyError);
    held.end();
    // then their token is still there once the slot is free, and the next is refused for the player
    server.startExport("ada").end();
    expect(() => server.startExport("ada")).toThrow(RateLimitedError);
  });

  it("an export waiting for its reader gives its slot up, and takes one again after", async () => {
    // given one slot, held by an export that waits for its reader
    const server = limits(1, 10);
    const waiting = server.startExport("ada");
    let read!: (ok: boolean) => void;
    const reader = new Promise<boolean>((resolve) => (read = resolve));
    const aside = waiting.aside(reader);
    // when another export comes meanwhile, it has the slot; the first waits for it after its reader
    const other = server.startExport("tam");
    read(true);
    let back = false;
    void aside.then(() => (back = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(back).toBe(false);
    other.end();
    // then the first has it again, ahead of any newcomer, and gives it back once
    expect(await aside).toBe(true);
    expect(() => server.startExport("mara")).toThrow(BusyError);
    waiting.end();
    waiting.end();
    server.startExport("mara").end();
    server.startExport("mara").end();
  });
});
