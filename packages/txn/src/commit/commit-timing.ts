import {
  type Clock,
  type CommitDetails,
  EMPTY_EXEC_DETAILS,
  type ExecDetails,
  type ExecDetailsCollector,
} from '@tikv/common';

/**
 * The phases of one commit whose caller asked for its {@link CommitDetails} (client-go fills
 * `util.CommitDetails` in `twoPhaseCommitter.execute`): times by the injected clock, the backoff
 * kinds of each phase from the commit's collector, and the commit's {@link ExecDetails} once
 * its scope is disposed.
 *
 * @internal
 */
export class CommitTiming {
  readonly #clock: Clock;
  getCommitTsMs = 0;
  getLatestTsMs = 0;
  localLatchWaitMs = 0;
  prewriteMs = 0;
  commitMs = 0;
  #prewriteKinds: readonly string[] = [];
  #commitFrom = -1;
  #commitKinds: readonly string[] = [];
  #writeKeys = 0;
  #writeSizeBytes = 0;
  /** The commit's execution details, set when its scope is disposed. */
  exec: ExecDetails = EMPTY_EXEC_DETAILS;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The clock's time, in milliseconds. */
  now(): number {
    return this.#clock.now();
  }

  /** What the commit writes: its mutations and their bytes (client-go `WriteKeys`, `WriteSize`). */
  setWrites(keys: number, sizeBytes: number): void {
    this.#writeKeys = keys;
    this.#writeSizeBytes = sizeBytes;
  }

  /** The prewrite phase ended (it began at `startedMs`). */
  endPrewrite(startedMs: number, details: ExecDetailsCollector | undefined): void {
    this.prewriteMs = this.now() - startedMs;
    this.#prewriteKinds = details?.backoffKindsSince(0) ?? [];
    this.#commitFrom = details?.backoffCount ?? 0;
  }

  /** The commit phase ended (it began at `startedMs`). */
  endCommit(startedMs: number, details: ExecDetailsCollector | undefined): void {
    this.commitMs = this.now() - startedMs;
    if (this.#commitFrom >= 0) this.#commitKinds = details?.backoffKindsSince(this.#commitFrom) ?? [];
  }

  /** The details, once the commit has settled. */
  finish(): CommitDetails {
    const prewrite = this.exec.rpcByCommand.Prewrite;
    return Object.freeze({
      getCommitTsMs: this.getCommitTsMs,
      getLatestTsMs: this.getLatestTsMs,
      localLatchWaitMs: this.localLatchWaitMs,
      prewriteMs: this.prewriteMs,
      commitMs: this.commitMs,
      commitBackoffMs: this.exec.backoffMs,
      prewriteBackoffKinds: Object.freeze([...this.#prewriteKinds]),
      commitBackoffKinds: Object.freeze([...this.#commitKinds]),
      prewriteRegionCount: prewrite?.regionCount ?? 0,
      prewriteRequestCount: prewrite?.count ?? 0,
      writeKeys: this.#writeKeys,
      writeSizeBytes: this.#writeSizeBytes,
      resolveLockMs: this.exec.resolveLockMs,
      exec: this.exec,
    });
  }
}
