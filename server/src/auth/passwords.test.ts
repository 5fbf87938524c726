import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { loginName } from "./login-name.ts";

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe("password hashes", () => {
  it("verify the password they were made from, and no other", async () => {
    const hash = await hashPassword("correct horse battery", FAST);
    expect(await verifyPassword("correct horse battery", hash, FAST)).toEqual({ ok: true, stale: false });
    expect((await verifyPassword("correct horse batterY", hash, FAST)).ok).toBe(false);
  });

  it("carry a random salt and their parameters", async () => {
    const [a, b] = await Promise.all([hashPassword("same", FAST), hashPassword("same", FAST)]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
  });

  it("made with weaker parameters than today's still verify, and are reported stale", async () => {
    const old = await hashPassword("correct horse battery", FAST);
    expect(await verifyPassword("correct horse battery", old, { ...FAST, N: 2 ** 11 })).toEqual({
      ok: true,
      stale: true,
    });
  });

  it("an unreadable or absurdly expensive hash never matches", async () => {
    for (const stored of [
      "",
      "bcrypt$x",
      "scrypt$0$8$1$AA$AA",
      "scrypt$1073741824$8$1$AA$AA",
      "scrypt$1024$8$1$$",
    ])
      expect((await verifyPassword("anything", stored, FAST)).ok).toBe(false);
  });
});

describe("login names", () => {
  it("compare without case, width or extra spaces", () => {
    expect(loginName("  Mira   Vale ")).toBe("mira vale");
    expect(loginName("ＭＩＲＡ Vale")).toBe("mira vale");
  });
});
