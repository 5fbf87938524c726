/**
 * Minimal MessagePack for k6, which has no npm modules at run time: nil, booleans, numbers
 * (ints up to 64 bits, float32/64), strings, binary, arrays and maps — what Colyseus room
 * messages carry (the server packs with msgpackr, records off). msgpackr's `undefined`
 * (fixext 1, type 0) decodes to undefined. No dependencies, no Node or DOM APIs.
 */

export type Packable =
  null | undefined | boolean | number | string | Uint8Array | Packable[] | { [key: string]: Packable };

// ── UTF-8 (k6 has no TextEncoder) ───────────────────────────────────────────

export function utf8Encode(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 1;
      }
    }
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f),
      );
  }
  return out;
}

export function utf8Decode(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  let i = start;
  while (i < end) {
    const byte = bytes[i++]!;
    let code: number;
    if (byte < 0x80) code = byte;
    else if (byte < 0xe0) code = ((byte & 0x1f) << 6) | (bytes[i++]! & 0x3f);
    else if (byte < 0xf0) code = ((byte & 0x0f) << 12) | ((bytes[i++]! & 0x3f) << 6) | (bytes[i++]! & 0x3f);
    else
      code =
        ((byte & 0x07) << 18) |
        ((bytes[i++]! & 0x3f) << 12) |
        ((bytes[i++]! & 0x3f) << 6) |
        (bytes[i++]! & 0x3f);
    if (code >= 0x10000) {
      code -= 0x10000;
      text += String.fromCharCode(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
    } else text += String.fromCharCode(code);
  }
  return text;
}

// ── encoding ────────────────────────────────────────────────────────────────

class Writer {
  bytes: number[] = [];
  u8(value: number): void {
    this.bytes.push(value & 0xff);
  }
  u16(value: number): void {
    this.bytes.push((value >>> 8) & 0xff, value & 0xff);
  }
  u32(value: number): void {
    this.bytes.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  }
  f64(value: number): void {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    for (let i = 0; i < 8; i++) this.bytes.push(view.getUint8(i));
  }
}

function writeNumber(w: Writer, value: number): void {
  if (!Number.isInteger(value) || value > 0xffffffff || value < -0x80000000) {
    // non-integers and integers past 32 bits travel as float64, as msgpackr sends them
    w.u8(0xcb);
    w.f64(value);
  } else if (value >= 0) {
    if (value < 0x80) w.u8(value);
    else if (value < 0x100) {
      w.u8(0xcc);
      w.u8(value);
    } else if (value < 0x10000) {
      w.u8(0xcd);
      w.u16(value);
    } else {
      w.u8(0xce);
      w.u32(value);
    }
  } else if (value >= -32) w.u8(value);
  else if (value >= -0x80) {
    w.u8(0xd0);
    w.u8(value);
  } else if (value >= -0x8000) {
    w.u8(0xd1);
    w.u16(value);
  } else {
    w.u8(0xd2);
    w.u32(value);
  }
}

function writeString(w: Writer, value: string): void {
  const bytes = utf8Encode(value);
  const n = bytes.length;
  if (n < 32) w.u8(0xa0 | n);
  else if (n < 0x100) {
    w.u8(0xd9);
    w.u8(n);
  } else if (n < 0x10000) {
    w.u8(0xda);
    w.u16(n);
  } else {
    w.u8(0xdb);
    w.u32(n);
  }
  for (const byte of bytes) w.bytes.push(byte);
}

function writeHeader(w: Writer, n: number, fix: number, fixMax: number, c16: number, c32: number): void {
  if (n < fixMax) w.u8(fix | n);
  else if (n < 0x10000) {
    w.u8(c16);
    w.u16(n);
  } else {
    w.u8(c32);
    w.u32(n);
  }
}

function write(w: Writer, value: Packable): void {
  if (value === null) w.u8(0xc0);
  else if (value === undefined) {
    w.u8(0xd4);
    w.u8(0);
    w.u8(0);
  } else if (value === true) w.u8(0xc3);
  else if (value === false) w.u8(0xc2);
  else if (typeof value === "number") writeNumber(w, value);
  else if (typeof value === "string") writeString(w, value);
  else if (value instanceof Uint8Array) {
    const n = value.length;
    if (n < 0x100) {
      w.u8(0xc4);
      w.u8(n);
    } else if (n < 0x10000) {
      w.u8(0xc5);
      w.u16(n);
    } else {
      w.u8(0xc6);
      w.u32(n);
    }
    for (let i = 0; i < n; i++) w.bytes.push(value[i]!);
  } else if (Array.isArray(value)) {
    writeHeader(w, value.length, 0x90, 16, 0xdc, 0xdd);
    for (const item of value) write(w, item);
  } else {
    // like JSON: keys whose value is undefined are left out
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    writeHeader(w, keys.length, 0x80, 16, 0xde, 0xdf);
    for (const key of keys) {
      writeString(w, key);
      write(w, value[key]!);
    }
  }
}

/** Appends the MessagePack encoding of `value` to `into` (or a new array); returns it. */
export function encodeInto(value: Packable, into: number[] = []): number[] {
  const w = new Writer();
  w.bytes = into;
  write(w, value);
  return into;
}

export function encode(value: Packable): Uint8Array {
  return new Uint8Array(encodeInto(value));
}

// ── decoding ────────────────────────────────────────────────────────────────

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public offset: number,
  ) {}
  private view(n: number): DataView {
    if (this.offset + n > this.bytes.length) throw new RangeError("msgpack: unexpected end of data");
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, n);
    this.offset += n;
    return view;
  }
  u8(): number {
    return this.view(1).getUint8(0);
  }
  u16(): number {
    return this.view(2).getUint16(0);
  }
  u32(): number {
    return this.view(4).getUint32(0);
  }
  i8(): number {
    return this.view(1).getInt8(0);
  }
  i16(): number {
    return this.view(2).getInt16(0);
  }
  i32(): number {
    return this.view(4).getInt32(0);
  }
  u64(): number {
    const view = this.view(8);
    return view.getUint32(0) * 0x100000000 + view.getUint32(4);
  }
  i64(): number {
    const view = this.view(8);
    return view.getInt32(0) * 0x100000000 + view.getUint32(4);
  }
  f32(): number {
    return this.view(4).getFloat32(0);
  }
  f64(): number {
    return this.view(8).getFloat64(0);
  }
  str(n: number): string {
    if (this.offset + n > this.bytes.length) throw new RangeError("msgpack: unexpected end of data");
    const text = utf8Decode(this.bytes, this.offset, this.offset + n);
    this.offset += n;
    return text;
  }
  bin(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new RangeError("msgpack: unexpected end of data");
    // a plain copy, whatever Uint8Array subclass the input is (a Node Buffer in tests)
    const out = new Uint8Array(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }
}

function readArray(r: Reader, n: number): Packable[] {
  const out: Packable[] = [];
  for (let i = 0; i < n; i++) out.push(read(r));
  return out;
}

function readMap(r: Reader, n: number): { [key: string]: Packable } {
  const out: { [key: string]: Packable } = {};
  for (let i = 0; i < n; i++) {
    const key = read(r);
    out[String(key)] = read(r);
  }
  return out;
}

function readExt(r: Reader, n: number): Packable {
  const type = r.i8();
  const data = r.bin(n);
  if (type === 0 && n === 1 && data[0] === 0) return undefined;
  if (type === -1 && (n === 4 || n === 8 || n === 12)) {
    // the MessagePack timestamp, as milliseconds since the epoch
    const view = new DataView(data.buffer, data.byteOffset, n);
    if (n === 4) return view.getUint32(0) * 1000;
    if (n === 8)
      return (
        (view.getUint32(0) & 0x03) * 0x100000000 * 1000 +
        view.getUint32(4) * 1000 +
        Math.floor((view.getUint32(0) >>> 2) / 1e6)
      );
    return (view.getInt32(4) * 0x100000000 + view.getUint32(8)) * 1000 + Math.floor(view.getUint32(0) / 1e6);
  }
  throw new TypeError(`msgpack: unsupported extension type ${type}`);
}

function read(r: Reader): Packable {
  const byte = r.u8();
  if (byte < 0x80) return byte;
  if (byte < 0x90) return readMap(r, byte & 0x0f);
  if (byte < 0xa0) return readArray(r, byte & 0x0f);
  if (byte < 0xc0) return r.str(byte & 0x1f);
  if (byte >= 0xe0) return byte - 0x100;
  switch (byte) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return r.bin(r.u8());
    case 0xc5:
      return r.bin(r.u16());
    case 0xc6:
      return r.bin(r.u32());
    case 0xc7:
      return readExt(r, r.u8());
    case 0xc8:
      return readExt(r, r.u16());
    case 0xc9:
      return readExt(r, r.u32());
    case 0xca:
      return r.f32();
    case 0xcb:
      return r.f64();
    case 0xcc:
      return r.u8();
    case 0xcd:
      return r.u16();
    case 0xce:
      return r.u32();
    case 0xcf:
      return r.u64();
    case 0xd0:
      return r.i8();
    case 0xd1:
      return r.i16();
    case 0xd2:
      return r.i32();
    case 0xd3:
      return r.i64();
    case 0xd4:
      return readExt(r, 1);
    case 0xd5:
      return readExt(r, 2);
    case 0xd6:
      return readExt(r, 4);
    case 0xd7:
      return readExt(r, 8);
    case 0xd8:
      return readExt(r, 16);
    case 0xd9:
      return r.str(r.u8());
    case 0xda:
      return r.str(r.u16());
    case 0xdb:
      return r.str(r.u32());
    case 0xdc:
      return readArray(r, r.u16());
    case 0xdd:
      return readArray(r, r.u32());
    case 0xde:
      return readMap(r, r.u16());
    case 0xdf:
      return readMap(r, r.u32());
    default:
      throw new TypeError(`msgpack: unknown type byte 0x${byte.toString(16)}`);
  }
}

/** Decodes one value starting at `offset`; returns it and the offset just past it. */
export function decodeAt(bytes: Uint8Array, offset = 0): { value: Packable; offset: number } {
  const reader = new Reader(bytes, offset);
  const value = read(reader);
  return { value, offset: reader.offset };
}

export function decode(bytes: Uint8Array): Packable {
  return decodeAt(bytes, 0).value;
}
