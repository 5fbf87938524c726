/**
 * A progress bar on stderr for long jobs (export, import, verify), redrawn in place at most ten
 * times a second. Only on a terminal: piped or captured stderr gets nothing, so logs stay clean.
 */
export interface ProgressBar {
  update(done: number, total: number): void;
  done(): void;
}

const WIDTH = 30;

export function progressBar(
  label: string,
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  enabled?: boolean,
): ProgressBar {
  const on = enabled ?? stream.isTTY === true;
  let last = 0;
  let drawn = false;
  const started = Date.now();
  return {
    update(done, total) {
      if (!on) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(ratio * WIDTH);
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? Math.round(done / seconds) : 0;
      stream.write(
        `\r${label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${Math.floor(ratio * 100)}% ${done}/${total} turns, ${rate}/s`,
      );
      drawn = true;
    },
    done() {
      // once: a command may end its bar before its last words and again on its way out
      if (on && drawn) stream.write("\n");
      drawn = false;
    },
  };
}
