import { kvrpcpb } from '@tikv/proto';
import { toKeyError } from '../mvcc/mvcc-error.js';
import { bufferBatchGet, flush } from '../mvcc/pipelined-dml.js';
import { compareBytes } from '../storage/ordered-map.js';
import { keyInRegion, keyOutOfRegionError } from './txn-request-check.js';
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
        const id = (k: Uint8Array) => Buffer.from(k).toString('latin1');
        const found = new Map(
          bufferBatchGet(
            this.#r.txn.storage,
            req.keys.filter((k) => keyInRegion(k, region)),
            req.version,
          ).map((p) => [id(p.key), p]),
        );
        // In key order, as TiKV sorts them; a key outside the region fails alone, in its place.
        const keys = [...new Map(req.keys.map((k) => [id(k), k])).values()].sort(compareBytes);
        const pairs = keys.flatMap((k): kvrpcpb.KvPair[] => {
          if (!keyInRegion(k, region)) {
            return [kvrpcpb.KvPair.fromPartial({ error: toKeyError(keyOutOfRegionError(k, region)) })];
          }
          const p = found.get(id(k));
          return p === undefined ? [] : [{ error: undefined, key: p.key, value: p.value, commitTs: 0n }];
        });
        return kvrpcpb.BufferBatchGetResponse.fromPartial({ pairs });
      },
      (e) => ({ error: toKeyError(e) }),
    );
  }
}
