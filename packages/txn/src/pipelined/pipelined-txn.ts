import type { RequestOptions, Resolved } from '@tikv/common';
import type { BudgetOptions } from '@tikv/rpc';
import type { ResolvedCommitOptions } from '../commit/commit-options.js';
import type { MemBufferLimits } from '../membuffer/mem-buffer-options.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { readRequestOptions, SNAPSHOT_READ_MAX_BACKOFF_MS } from '../snapshot/snapshot-options.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import { bufferBatchGet } from './buffer-batch-get.js';
import { flushedOverSnapshot } from './flushed-scan.js';
import { PipelinedCommitter } from './pipelined-committer.js';
import { PipelinedMemBuffer } from './pipelined-mem-buffer.js';
import type { PipelinedOptions } from './pipelined-options.js';
import { PipelinedUnionStore } from './pipelined-union-store.js';

const BUDGET: BudgetOptions = Object.freeze({ maxBackoffMs: SNAPSHOT_READ_MAX_BACKOFF_MS });

/** What {@link PipelinedTxn} is built from. @internal */
export interface PipelinedTxnOptions {
  readonly parts: TxnParts;
  readonly lockResolver: LockResolving;
  /** The transaction's snapshot: put in pipelined mode here. */
  readonly snapshot: Snapshot;
  readonly commit: ResolvedCommitOptions;
  readonly pipelined: Resolved<PipelinedOptions>;
  readonly startTimeMs: number;
  readonly memBuffer: MemBufferLimits;
}

/**
 * The pieces of a pipelined transaction (client-go `InitPipelinedMemDB`): the buffer, which flushes
 * through the committer and reads flushed keys back with `KvBufferBatchGet`, the committer, and
 * the reads.
 *
 * @internal
 */
export class PipelinedTxn {
  readonly buffer: PipelinedMemBuffer;
  readonly committer: PipelinedCommitter;
  readonly reads: PipelinedUnionStore;
  readonly options: Resolved<PipelinedOptions>;

  constructor(o: PipelinedTxnOptions) {
    const snapshot = o.snapshot;
    snapshot.setPipelined();
    this.options = o.pipelined;
    const exec = o.parts.executor;
    const request = readRequestOptions(snapshot.options, true);
    const readParts = {
      exec,
      startTs: snapshot.ts,
      batchSize: snapshot.options.batchGetSize,
      request,
      budget: BUDGET,
    };
    const read = (keys: readonly Uint8Array[], options?: RequestOptions) =>
      bufferBatchGet(readParts, keys, options);
    this.committer = new PipelinedCommitter({
      parts: o.parts,
      lockResolver: o.lockResolver,
      startTs: snapshot.ts,
      startTimeMs: o.startTimeMs,
      commit: o.commit,
      pipelined: o.pipelined,
    });
    this.buffer = new PipelinedMemBuffer({
      flush: this.committer.flush,
      bufferBatchGet: read,
      thresholds: o.pipelined,
      limits: o.memBuffer,
      clock: o.parts.clock,
    });
    const buffer = this.buffer;
    const flushed = flushedOverSnapshot(
      {
        exec,
        startTs: snapshot.ts,
        budget: BUDGET,
        request,
        flushedRange: () => buffer.flushedRange,
        bufferBatchGet: read,
      },
      snapshot,
    );
    this.reads = new PipelinedUnionStore(buffer, snapshot, flushed);
  }
}
