import { DeadlineExceededError, offAbort, onAbort } from '@tikv/common';
import type { BatchRequestCmd, BatchResponseCmd } from './tikv-commands.js';

/** Where an entry currently sits, so a timeout or an abort can take it out. */
export interface EntryHolder {
  /** Forgets an in-flight request id (its late response, if any, is then ignored). */
  drop(id: number): void;
}

function onTimeout(entry: BatchEntry): void {
  entry.timer = undefined;
  entry.fail(
    new DeadlineExceededError(`${entry.cmd.$case} request timed out after ${entry.timeoutMs}ms`, {
      timeoutMs: entry.timeoutMs,
    }),
  );
}

/**
 * One request waiting for its `BatchCommands` response (client-go `batchCommandsEntry`). It is
 * settled exactly once: by its response, its own timeout, its caller's abort, or the failure of
 * the stream that carries it. A settled entry still in the queue is skipped when the next batch
 * is built; one already sent has its id dropped from the stream, never the stream itself.
 */
export class BatchEntry {
  /** Id on the stream it was sent on; 0 while queued. */
  id = 0;
  /** The stream it was sent on. */
  holder: EntryHolder | undefined = undefined;
  /** Whether it was written to a stream (the server may have executed it). */
  sent = false;
  /** Whether it has been resolved or rejected. */
  settled = false;
  /** The per-request timer, if any. */
  timer: NodeJS.Timeout | undefined = undefined;
  readonly cmd: BatchRequestCmd;
  /** The command encoded as a `BatchCommandsRequest.Request`. */
  readonly bytes: Uint8Array;
  readonly forwardedHost: string;
  readonly timeoutMs: number;
  readonly #resolve: (value: BatchResponseCmd) => void;
  readonly #reject: (reason: unknown) => void;
  readonly #signal: AbortSignal | undefined;

  /**
   * @param cmd - the command
   * @param bytes - the command, encoded
   * @param forwardedHost - the forwarded host, '' when direct
   * @param resolve - settles the caller's promise with the response arm
   * @param reject - settles the caller's promise with an error
   * @param signal - the caller's abort signal
   * @param timeoutMs - the request's own timeout (NaN: none)
   */
  constructor(
    cmd: BatchRequestCmd,
    bytes: Uint8Array,
    forwardedHost: string,
    resolve: (value: BatchResponseCmd) => void,
    reject: (reason: unknown) => void,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    this.cmd = cmd;
    this.bytes = bytes;
    this.forwardedHost = forwardedHost;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
    this.timeoutMs = timeoutMs;
    if (signal !== undefined) onAbort(signal, this);
    if (timeoutMs >= 0) this.timer = setTimeout(onTimeout, timeoutMs, this);
  }

  /** The abort listener (an object listener, so no closure per request). */
  handleAbort(reason: unknown): void {
    this.fail(reason);
  }

  #detach(): void {
    this.settled = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.#signal !== undefined) offAbort(this.#signal, this);
  }

  /** Resolves with the response arm (ignored once settled). */
  complete(cmd: BatchResponseCmd): void {
    if (this.settled) return;
    this.#detach();
    this.#resolve(cmd);
  }

  /** Rejects and takes the entry off its stream (ignored once settled). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.#detach();
    if (this.holder !== undefined && this.id !== 0) this.holder.drop(this.id);
    this.#reject(error);
  }
}
