import { crc32 } from "node:zlib";

/**
 * How the write-ahead log frames its records on disk: a header of the payload's length and its
 * CRC-32 (both unsigned 32-bit little-endian), then the payload (UTF-8 JSON).
 *
 * A crash can leave the last record cut short, or a page of it never written. The length says
 * where a record should end and the checksum says whether its bytes are the ones written, so
 * reading stops at the first record that is incomplete or does not verify. Nothing after that
 * point was ever acknowledged: a group of records is acknowledged only once it is written and
 * synced, and the next group is written only after that.
 */

export const HEADER_BYTES = 8;
/** Larger than any batch the live store writes; a length past it is garbage, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function frame(payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  if (body.length > MAX_RECORD_BYTES)
    throw new RangeError(`a log record of ${body.length} bytes is too large`);
  const record = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  record.writeUInt32LE(body.length, 0);
  record.writeUInt32LE(crc32(body), 4);
  body.copy(record, HEADER_BYTES);
  return record;
}

export interface Unframed {
  payloads: string[];
  /** Bytes from the start that hold whole, verified records; anything after is a torn tail. */
  validBytes: number;
  /**
   * A whole, verified record lies after the first that is not one: the bytes were damaged (or a
   * group was only partly written), and what follows may hold acknowledged records.
   */
  damaged: boolean;
}

/** Reads records from the start of `bytes` up to the first one that is incomplete or corrupt. */
export function unframe(bytes: Buffer): Unframed {
  const payloads: string[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const checksum = bytes.readUInt32LE(offset + 4);
    const end = offset + HEADER_BYTES + length;
    if (length > MAX_RECORD_BYTES || end > bytes.length) break;
    const body = bytes.subarray(offset + HEADER_BYTES, end);
    if (crc32(body) !== checksum) break;
    payloads.push(body.toString("utf8"));
    offset = end;
  }
  return { payloads, validBytes: offset, damaged: verifiedRecordAfter(bytes, offset + 1) };
}

/** Whether a record from `from` on has a length that fits and a body that verifies. */
function verifiedRecordAfter(bytes: Buffer, from: number): boolean {
  for (let at = from; at + HEADER_BYTES <= bytes.length; at++) {
    const length = bytes.readUInt32LE(at);
    const end = at + HEADER_BYTES + length;
    // an empty record is eight zero bytes, as a page never written reads
    if (length === 0 || length > MAX_RECORD_BYTES || end > bytes.length) continue;
    if (crc32(bytes.subarray(at + HEADER_BYTES, end)) === bytes.readUInt32LE(at + 4)) return true;
  }
  return false;
}
