import { type Clock, DeadlineExceededError, PendingRequest } from '@tikv/common';
import type { BatchRequestCmd, BatchResponseCmd } from './tikv-commands.js';

/** Where an entry currently sits, so a timeout or an abort can take it out. */
export interface EntryHolder {
  /** Forgets an in-flight request id (its late response, if any, is then ignored). */
  drop(id: number): void;
}

/**
 * One request waiting for its `BatchCommands` response (client-go `batchCommandsEntry`): a
 * {@link PendingRequest} settled exactly once, by its response, its own timeout (on the
 * transport's clock), its caller's abort, or the failure of the stream that carries it. A
 * settled entry still in the queue is skipped when the next batch is built; one already sent
 * has its id dropped from the stream, never the stream itself. The entry is its own abort
 * listener and timer argument: no closure per request.
 */
export class BatchEntry extends PendingRequest<BatchResponseCmd> {
  /** Id on the stream it was sent on; 0 while queued. */
  id = 0;
  /** The stream it was sent on. */
  holder: EntryHolder | undefined = undefined;
  /** Whether it was written to a stream (the server may have executed it). */
  sent = false;
  readonly cmd: BatchRequestCmd;
  /** The command encoded as a `BatchCommandsRequest.Request`. */
  readonly bytes: Uint8Array;
  readonly forwardedHost: string;
  /** The request's `resourceControlContext.overridePriority`: higher leaves first when the batcher is limited. */
  priority = 0;
  /** When it was queued (`performance.now()`), when the batch policy needs arrival times. */
  arrivedMs = 0;

  /**
   * @param cmd - the command
   * @param bytes - the command, encoded
   * @param forwardedHost - the forwarded host, '' when direct
   * @param clock - measures the timeout
   * @param signal - the caller's abort signal
   * @param timeoutMs - the request's own timeout (NaN or negative: none)
   */
  constructor(
    cmd: BatchRequestCmd,
    bytes: Uint8Array,
    forwardedHost: string,
    clock: Clock,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    super(clock, signal, timeoutMs >= 0 ? timeoutMs : undefined);
    this.cmd = cmd;
    this.bytes = bytes;
    this.forwardedHost = forwardedHost;
  }

  /** Resolves with the response arm (ignored once settled). */
  complete(cmd: BatchResponseCmd): void {
    this.resolve(cmd);
  }

  /** Rejects and takes the entry off its stream (ignored once settled). */
  fail(error: unknown): void {
    this.reject(error);
  }

  /** Every failure (the stream's, the timeout, the abort) takes the entry off its stream. */
  override reject(reason: unknown): boolean {
    if (!super.reject(reason)) return false;
    if (this.holder !== undefined && this.id !== 0) this.holder.drop(this.id);
    return true;
  }

  protected override timeoutError(timeoutMs: number): unknown {
    return new DeadlineExceededError(`${this.cmd.$case} request timed out after ${timeoutMs}ms`, {
      timeoutMs,
    });
  }
}
