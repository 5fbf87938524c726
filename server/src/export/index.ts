import { exportFormatSchema } from "@loom/shared";
import type { AncestryMode, Audience, ExportStores } from "./format.ts";
import { exportJsonl } from "./jsonl.ts";
import { exportMarkdown } from "./markdown.ts";
import type { Progress } from "./source.ts";

export * from "./format.ts";
export { exportJsonl } from "./jsonl.ts";
export { exportMarkdown, rollFootnote } from "./markdown.ts";
export { importJsonl, UnknownGameMasterError, type ImportResult, type ImportStores } from "./import.ts";
export { ExportFileError, fileLines, MAX_LINE_CHARS, readExport } from "./reader.ts";
export { verifyTimeline, type SnapshotMismatch, type TimelineVerification } from "./verify.ts";
export type { Progress } from "./source.ts";

export const exportFormats = exportFormatSchema.options;
export type ExportFormat = (typeof exportFormats)[number];

/** One export, as the chunks of text to write: JSONL (docs/export-format.md) or the Markdown story. */
export function exportUniverse(
  stores: ExportStores,
  universeId: string,
  options: {
    format: ExportFormat;
    audience: Audience;
    ancestry?: AncestryMode;
    onProgress?: Progress;
    onDamagedSnapshot?: (position: number) => void;
  },
): AsyncGenerator<string> {
  return options.format === "markdown"
    ? exportMarkdown(stores, universeId, options)
    : exportJsonl(stores, universeId, options);
}
