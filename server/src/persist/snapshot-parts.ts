import { createHash } from "node:crypto";
import { CanonicalTexts, checksumOfTexts } from "@loom/shared";
import type { CutText } from "@loom/shared";

/**
 * Between the pieces of a snapshot's skeleton: a character canonical JSON never holds unescaped
 * (JSON escapes every control character inside a string, and writes none outside one).
 */
export const PIECES_APART = "\u0001";

/**
 * A snapshot's canonical JSON as it is stored: the text between its parts (`pieces`, one more
 * than the parts; stored joined by PIECES_APART) and each part's digest and text. `pieces[0] +
 * documents[0] + pieces[1] + … + pieces[n]` is the document, whose hash is the snapshot's
 * checksum, as for a document stored whole. A part is one bucket of a bucketed record
 * (CanonicalTexts.cut): a part the universe stored before, with an earlier snapshot, is not
 * stored again (`snapshot_parts`), so a long campaign's snapshots cost what changed between them
 * rather than the whole world each time.
 */
export interface StateParts {
  pieces: string[];
  /** A part's digest: the first 128 bits of its text's sha256, as a uuid. */
  digests: string[];
  documents: string[];
}

/**
 * The shortest bucket stored as a part of its own; a shorter one stays in the text around it. A
 * part's row costs about a hundred bytes beside its text, and Postgres compresses a value only
 * from about 2 KB, so a short bucket takes less inside its snapshot's text, compressed with it,
 * even written again with every snapshot; from about 1 KB, a bucket that outlives a few
 * snapshots takes less on its own (docs/performance.md, "Snapshots stored by part").
 */
export const MIN_PART_CHARS = 1_024;

/**
 * Digests of frozen parts, kept while the part lives: states share most of their buckets. A part
 * that is not frozen could change after its digest was taken, so its digest is taken each time.
 */
const digests = new WeakMap<object, string>();

function stateParts(cut: CutText): StateParts {
  return {
    pieces: cut.pieces,
    digests: cut.parts.map(({ container, text }) => {
      if (!Object.isFrozen(container)) return partDigest(text);
      let digest = digests.get(container);
      if (digest === undefined) digests.set(container, (digest = partDigest(text)));
      return digest;
    }),
    documents: cut.parts.map((part) => part.text),
  };
}

/**
 * A state as it is stored and its checksum; `texts` keeps the texts it wrote, for the states after
 * (the authority's), or is the call's own.
 */
export function partedState(
  state: unknown,
  texts = new CanonicalTexts(),
  minPart = MIN_PART_CHARS,
): { parts: StateParts; checksum: string } {
  const parts = stateParts(texts.cut(state, minPart));
  return { parts, checksum: checksumOfTexts(documentTexts(parts)) };
}

/**
 * The document the parts make, as `loom_snapshot_document` makes it. Concatenated, not joined:
 * V8 copies the text once, when it is first read whole (hashed, parsed or written out), where
 * `join` copies it at once, several times slower for a large world's thousand pieces.
 */
export function documentOf(parts: Pick<StateParts, "pieces" | "documents">): string {
  let document = "";
  for (const text of documentTexts(parts)) document += text;
  return document;
}

/** The document's texts in order, pieces and parts: what its checksum hashes, without joining them. */
export function documentTexts(parts: Pick<StateParts, "pieces" | "documents">): string[] {
  const texts = [parts.pieces[0]!];
  for (let i = 0; i < parts.documents.length; i++) texts.push(parts.documents[i]!, parts.pieces[i + 1]!);
  return texts;
}

/** The first 128 bits of the text's sha256, written as a uuid (the `digest` column's type). */
function partDigest(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
