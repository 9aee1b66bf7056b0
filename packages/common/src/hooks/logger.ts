/** Structured context attached to a log line. Never put keys, values or TLS material here unless the user opted in. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * The logger the client writes to. Any object with these four methods works
 * (pino, winston and console-like loggers adapt in a line); the default is
 * {@link noopLogger}, which is silent.
 */
export interface Logger {
  /** Detail useful when debugging the client itself. */
  debug(message: string, fields?: LogFields): void;
  /** Notable but expected events (leader changes, reconnects). */
  info(message: string, fields?: LogFields): void;
  /** Unexpected conditions the client recovered from. */
  warn(message: string, fields?: LogFields): void;
  /** Failures surfaced to the caller or that need attention. */
  error(message: string, fields?: LogFields): void;
}

const ignore = (): void => {};

/** A logger that drops everything: the default of every `logger` option. */
export const noopLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });
