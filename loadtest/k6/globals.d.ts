// k6 provides a console in VU code; @types/k6 leaves it to the DOM lib, which does not apply here.
declare const console: {
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
};
