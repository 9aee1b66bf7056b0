import { kvrpcpb } from '@tikv/proto';
import { toKeyError } from '../mvcc/mvcc-error.js';
import { bufferBatchGet, flush } from '../mvcc/pipelined-dml.js';
import { checkKeysInRegion } from './txn-request-check.js';
import type { TxnRequestRunner } from './txn-request-runner.js';

/** Pipelined DML (KvFlush, KvBufferBatchGet) for one store. */
export class TxnPipelinedCommands {
  readonly #r: TxnRequestRunner;

  constructor(runner: TxnRequestRunner) {
    this.#r = runner;
  }

  kvFlush(req: kvrpcpb.FlushRequest): kvrpcpb.FlushResponse {
    return this.#r.run(
      kvrpcpb.FlushResponse,
      req.context,
      'write',
      (region) => {
        this.#r.writeKeys(
          req.context,
          'flush',
          req.mutations.map((m) => m.key),
          region,
          true,
        );
        const locks = flush(this.#r.txn.storage, {
          mutations: req.mutations,
          primary: req.primaryKey,
          startTs: req.startTs,
          generation: req.generation,
          lockTtl: req.lockTtl,
          assertionLevel: req.assertionLevel,
          isRetryRequest: req.context?.isRetryRequest === true,
          txnSource: req.context?.txnSource ?? 0n,
        });
        return kvrpcpb.FlushResponse.fromPartial({ errors: locks.map(toKeyError) });
      },
      (e) => ({ errors: [toKeyError(e)] }),
    );
  }

  kvBufferBatchGet(req: kvrpcpb.BufferBatchGetRequest): kvrpcpb.BufferBatchGetResponse {
    return this.#r.run(
      kvrpcpb.BufferBatchGetResponse,
      req.context,
      'read',
      (region) => {
        this.#r.api(req.context, 'buffer_batch_get', req.keys);
        checkKeysInRegion(req.keys, region);
        const pairs = bufferBatchGet(this.#r.txn.storage, req.keys, req.version).map(
          ({ key, value }): kvrpcpb.KvPair => ({ error: undefined, key, value, commitTs: 0n }),
        );
        return kvrpcpb.BufferBatchGetResponse.fromPartial({ pairs });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }
}
