import { kvrpcpb } from '@tikv/proto';
import { FlashbackNotPreparedError, flashbackToVersion, prepareFlashback } from '../mvcc/flashback.js';
import { regionError } from './region-errors.js';
import { failRegion, txnScanBounds } from './txn-request-check.js';
import { flashbackInProgress, type TxnRequestRunner } from './txn-request-runner.js';

/** Flashback (KvPrepareFlashbackToVersion, KvFlashbackToVersion) for one store. */
export class TxnFlashbackCommands {
  readonly #r: TxnRequestRunner;

  constructor(runner: TxnRequestRunner) {
    this.#r = runner;
  }

  /** KvPrepareFlashbackToVersion: puts the region in flashback and runs phase one. */
  kvPrepareFlashbackToVersion(
    req: kvrpcpb.PrepareFlashbackToVersionRequest,
  ): kvrpcpb.PrepareFlashbackToVersionResponse {
    return this.#r.run(
      kvrpcpb.PrepareFlashbackToVersionResponse,
      req.context,
      'flashback',
      (region) => {
        const states = this.#r.txn.flashback;
        const current = states?.get(region.id);
        if (current !== undefined && current !== req.startTs)
          failRegion(flashbackInProgress(region.id, current));
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        states?.set(region.id, req.startTs);
        prepareFlashback(this.#r.txn.storage, {
          start: lower,
          end: upper,
          startTs: req.startTs,
          version: req.version,
        });
        return kvrpcpb.PrepareFlashbackToVersionResponse.fromPartial({});
      },
      (e) => ({ error: e.message }),
    );
  }

  /** KvFlashbackToVersion: phase two, then the region leaves flashback. */
  kvFlashbackToVersion(req: kvrpcpb.FlashbackToVersionRequest): kvrpcpb.FlashbackToVersionResponse {
    return this.#r.run(
      kvrpcpb.FlashbackToVersionResponse,
      req.context,
      'flashback',
      (region) => {
        // No check of the region's flashback state up front: TiKV refuses only the writes a
        // region not in flashback would propose, so a retry after success (nothing to write)
        // succeeds. The MVCC layer tells the two apart.
        const { lower, upper } = txnScanBounds(region, req.startKey, req.endKey, false);
        try {
          flashbackToVersion(
            this.#r.txn.storage,
            { start: lower, end: upper, startTs: req.startTs, version: req.version },
            req.commitTs,
          );
        } catch (e) {
          if (e instanceof FlashbackNotPreparedError) {
            // TiKV's FlashbackNotPrepared carries no message.
            failRegion(regionError({ message: '', FlashbackNotPrepared: { regionId: region.id } }));
          }
          throw e;
        }
        this.#r.txn.flashback?.delete(region.id);
        return kvrpcpb.FlashbackToVersionResponse.fromPartial({});
      },
      (e) => ({ error: e.message }),
    );
  }
}
