// Turn compression: what a turn's stored document (its input, resolution, events, deltas and
// narration, as one JSON array) takes compressed one turn at a time and in blocks of consecutive
// turns, with deflate alone and with a 32 KB preset dictionary made of the universe's earlier
// turns, and what compressing and reading it back costs. It stores nothing: it measures the
// options for the storage target (≤ 1 KB a turn all in, docs/performance.md, "Storage below 1 KB
// a turn"). On the universe the turn-store benchmarks use: played by the rules unless
// `--state=synthetic` (played.ts), whose turns carry the template's narration.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { BENCH_TURNS } from "./fixture.ts";
import { openBenchUniverse } from "./played.ts";

/** Turns measured, from the middle of the campaign; the dictionary is made of the turns before them. */
const WINDOW = 4_096;
const FROM = 50_001;
const DICTIONARY_BYTES = 32 * 1024;
const BLOCKS = [1, 32, 64];

interface Option {
  bytes_per_turn: number;
  compress_us_per_turn: number;
  inflate_us_per_turn: number;
}

export default async function turnCompression(): Promise<Record<string, unknown>> {
  const { database, id, state } = await openBenchUniverse(BENCH_TURNS + 99);
  try {
    const documents = async (from: number, to: number) =>
      (
        await database.query<{ document: string }>(
          `select json_build_array(input, resolution, events, deltas, narration)::text as document
           from turns where universe_id = '${id}' and position between ${from} and ${to} order by position`,
        )
      ).map((row) => Buffer.from(row.document));
    const turns = await documents(FROM, FROM + WINDOW - 1);
    const earlier = Buffer.concat(await documents(FROM - 200, FROM - 1));
    const dictionary = earlier.subarray(Math.max(0, earlier.length - DICTIONARY_BYTES));
    const raw = turns.reduce((sum, turn) => sum + turn.length, 0) / turns.length;
    const options: Record<string, Option> = {};
    for (const block of BLOCKS)
      for (const withDictionary of [false, true]) {
        const name = `${block === 1 ? "per_turn" : `blocks_of_${block}`}${withDictionary ? "_dictionary" : ""}`;
        options[name] = measure(turns, block, withDictionary ? dictionary : undefined);
      }
    return {
      driver: database.driver,
      state,
      turns_measured: turns.length,
      raw_bytes_per_turn: Math.round(raw),
      dictionary_bytes: dictionary.length,
      ...options,
    };
  } finally {
    await database.dispose();
  }
}

/** Deflate (level 6) over blocks of `block` turns, each block a JSON array of its turns' documents. */
function measure(turns: Buffer[], block: number, dictionary: Buffer | undefined): Option {
  const settings = dictionary ? { level: 6, dictionary } : { level: 6 };
  let bytes = 0;
  let compressMs = 0;
  let inflateMs = 0;
  for (let i = 0; i + block <= turns.length; i += block) {
    const text = block === 1 ? turns[i]! : join(turns.slice(i, i + block));
    const started = performance.now();
    const packed = deflateRawSync(text, settings);
    const packedAt = performance.now();
    inflateRawSync(packed, dictionary ? { dictionary } : {});
    inflateMs += performance.now() - packedAt;
    compressMs += packedAt - started;
    bytes += packed.length;
  }
  const count = Math.floor(turns.length / block) * block;
  return {
    bytes_per_turn: Math.round(bytes / count),
    compress_us_per_turn: Math.round((compressMs * 1000) / count),
    inflate_us_per_turn: Math.round((inflateMs * 1000) / count),
  };
}

function join(documents: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from("[")];
  documents.forEach((document, i) =>
    parts.push(i === 0 ? document : Buffer.concat([Buffer.from(","), document])),
  );
  parts.push(Buffer.from("]"));
  return Buffer.concat(parts);
}
