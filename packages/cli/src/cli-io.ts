/**
 * Where the command writes and what it reads from its surroundings: the process's streams and
 * environment in `bin.js`, buffers in tests.
 */
export interface CliIo {
  /** Writes to standard output (the text carries its own newlines). */
  stdout(text: string): void;
  /** Writes to standard error (the text carries its own newlines). */
  stderr(text: string): void;
  /** The environment (`TIKV_PD_ENDPOINTS`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether standard error is a terminal: the benchmark redraws its progress line in place. */
  readonly stderrIsTty: boolean;
  /** Aborts when a long-running command (`mock`, `bench`) should stop: SIGINT or SIGTERM. */
  readonly stopSignal: AbortSignal;
}
