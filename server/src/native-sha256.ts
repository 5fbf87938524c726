import { createHash } from "node:crypto";
import { useNativeSha256 } from "@loom/shared";

/**
 * Checksums (snapshots, jumps, verification) hash the canonical JSON of a whole state; Node's
 * OpenSSL sha256 does that several times faster than the portable one the shared package
 * ships for browsers. Same digests: useNativeSha256 checks before it switches.
 */
export function installNativeSha256(): void {
  useNativeSha256((texts) => {
    const hash = createHash("sha256");
    for (const text of texts) hash.update(text);
    return hash.digest("hex");
  });
}
