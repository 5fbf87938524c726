import { describe, expect, it } from "vitest";
import type { Turn } from "@loom/shared";
import { SeqLedger } from "./seq-ledger.ts";

const turn = (position: number, seq?: number, clientKey = "player-1:run-1") =>
  ({ position, input: seq === undefined ? {} : { clientKey, seq } }) as unknown as Turn;

describe("seq ledger", () => {
  it("answers a recorded (key, seq) with its turn's position, and nothing for what it has not seen", () => {
    const ledger = new SeqLedger();
    ledger.recordTurn(turn(7, 3));
    ledger.recordTurn(turn(8)); // a turn without a client (a system turn) is not recorded
    ledger.recordTurn(turn(9, 3, "player-2:run-2"));
    expect(ledger.lookup("player-1:run-1", 3)).toBe(7);
    expect(ledger.lookup("player-2:run-2", 3)).toBe(9);
    expect(ledger.lookup("player-1:run-1", 4)).toBeUndefined();
    expect(ledger.lookup("player-1:run-1", 1)).toBeUndefined();
    expect(ledger.lookup("player-3:run-3", 3)).toBeUndefined();
  });

  it("keeps a client's newest 64 and calls an older seq stale", () => {
    const ledger = new SeqLedger();
    for (let seq = 100; seq < 165; seq++) ledger.recordTurn(turn(seq - 99, seq));
    expect(ledger.lookup("player-1:run-1", 100)).toBe("stale");
    expect(ledger.lookup("player-1:run-1", 50)).toBe("stale");
    expect(ledger.lookup("player-1:run-1", 101)).toBe(2);
    expect(ledger.lookup("player-1:run-1", 164)).toBe(65);
    expect(ledger.lookup("player-1:run-1", 165)).toBeUndefined();
    // a seq that arrives late, below newer ones, is evicted first when it is the lowest
    ledger.recordTurn(turn(66, 150.5));
    expect(ledger.lookup("player-1:run-1", 101)).toBe("stale");
    expect(ledger.lookup("player-1:run-1", 150.5)).toBe(66);
  });

  it("forgets the least recently active client past its bound, however many turns went by", () => {
    const ledger = new SeqLedger(3);
    ledger.recordTurn(turn(1, 1, "a"));
    ledger.recordTurn(turn(2, 1, "b"));
    ledger.recordTurn(turn(3, 1, "c"));
    // a client that acts again is the most recently active; others' thousand turns change nothing
    ledger.recordTurn(turn(4, 2, "a"));
    for (let position = 5; position < 1_005; position++) ledger.recordTurn(turn(position, position, "b"));
    expect(ledger.lookup("c", 1)).toBe(3);
    ledger.recordTurn(turn(1_005, 1, "d"));
    expect(ledger.lookup("c", 1)).toBeUndefined();
    expect(ledger.lookup("a", 1)).toBe(1);
    expect(ledger.lookup("d", 1)).toBe(1_005);
  });
});
