import {
  type Clock,
  type CommitDetails,
  type CommitDetailsOptions,
  deliverDetails,
  EMPTY_EXEC_DETAILS,
  type ExecDetails,
  type ExecDetailsCollector,
  type ExecDetailsOptions,
  invalidArgument,
  mergeExecDetails,
  type RequestOptions,
} from '@tikv/common';

/** The command whose requests a commit's prewrite phase sends: `Prewrite`, or a pipelined commit's `Flush`. */
export type PrewriteCommand = 'Prewrite' | 'Flush';

/**
 * The phases of one commit whose caller asked for its {@link CommitDetails} (client-go fills
 * `util.CommitDetails` in `twoPhaseCommitter.execute`): times by the injected clock, the backoff
 * kinds of each phase from the commit's collectors, and the commit's {@link ExecDetails}, the
 * sum of its operations' once their scopes are disposed. {@link CommitTiming.deliver} hands the
 * details to the caller.
 *
 * @internal
 */
export class CommitTiming {
  readonly #clock: Clock;
  readonly #onCommitDetails: (details: CommitDetails) => void;
  readonly #prewriteCommand: PrewriteCommand;
  getCommitTsMs = 0;
  getLatestTsMs = 0;
  localLatchWaitMs = 0;
  prewriteMs = 0;
  commitMs = 0;
  #prewriteKinds: readonly string[] = [];
  /** The collector the prewrite phase recorded in, and its sleeps by the phase's end. */
  #prewriteDetails: ExecDetailsCollector | undefined;
  #commitFrom = 0;
  #commitKinds: readonly string[] = [];
  #writeKeys = 0;
  #writeSizeBytes = 0;
  /** The commit's execution details: those of its operations, added as each settles. */
  exec: ExecDetails = EMPTY_EXEC_DETAILS;

  /**
   * @param clock - times the phases
   * @param onCommitDetails - receives the details ({@link CommitTiming.deliver})
   * @param prewriteCommand - the requests counted as prewrite requests and regions
   */
  constructor(
    clock: Clock,
    onCommitDetails: (details: CommitDetails) => void,
    prewriteCommand: PrewriteCommand = 'Prewrite',
  ) {
    this.#clock = clock;
    this.#onCommitDetails = onCommitDetails;
    this.#prewriteCommand = prewriteCommand;
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

  /** Adds the execution details of one of the commit's operations. */
  addExec(details: ExecDetails): void {
    this.exec = this.exec === EMPTY_EXEC_DETAILS ? details : mergeExecDetails(this.exec, details);
  }

  /**
   * The options of one of the commit's operations: the caller's signal and timeout, and its
   * execution details added to the commit's ({@link CommitTiming.addExec}) once it settles.
   */
  operationOptions(options: RequestOptions | undefined): RequestOptions & ExecDetailsOptions {
    return {
      signal: options?.signal,
      timeoutMs: options?.timeoutMs,
      onDetails: (d) => this.addExec(d),
    };
  }

  /** The prewrite phase ended (it began at `startedMs`). */
  endPrewrite(startedMs: number, details: ExecDetailsCollector | undefined): void {
    this.prewriteMs = this.now() - startedMs;
    this.#prewriteKinds = details?.backoffKindsSince(0) ?? [];
    this.#prewriteDetails = details;
    this.#commitFrom = details?.backoffCount ?? 0;
  }

  /**
   * The commit phase ended (it began at `startedMs`): its backoff kinds are the sleeps of
   * `details` after the prewrite phase's, or all of them when the phase had a collector of its own.
   */
  endCommit(startedMs: number, details: ExecDetailsCollector | undefined): void {
    this.commitMs = this.now() - startedMs;
    const from = details !== undefined && details === this.#prewriteDetails ? this.#commitFrom : 0;
    this.#commitKinds = details?.backoffKindsSince(from) ?? [];
  }

  /** The details, once the commit has settled. */
  finish(): CommitDetails {
    const prewrite = this.exec.rpcByCommand[this.#prewriteCommand];
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

  /** Hands the details to the caller, once the commit has settled; what the callback throws is ignored. */
  deliver(): void {
    deliverDetails(this.#onCommitDetails, this.finish());
  }
}

/**
 * The timing of a commit whose caller asked for its details, or undefined: nothing is made
 * without an `onCommitDetails`.
 *
 * @param options - the commit call's options
 * @param clock - times the phases
 * @param prewriteCommand - the requests counted as prewrite requests
 * @throws InvalidArgumentError when `onCommitDetails` is neither a function nor undefined
 * @internal
 */
export function commitTimingFor(
  options: CommitDetailsOptions | undefined,
  clock: Clock,
  prewriteCommand?: PrewriteCommand,
): CommitTiming | undefined {
  const onCommitDetails = options?.onCommitDetails;
  if (onCommitDetails === undefined) return undefined;
  if (typeof onCommitDetails !== 'function') {
    throw invalidArgument('options.onCommitDetails', 'a function or undefined', onCommitDetails);
  }
  return new CommitTiming(clock, onCommitDetails, prewriteCommand);
}
