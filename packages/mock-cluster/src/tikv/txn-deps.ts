import { ConcurrencyManager } from '../mvcc/concurrency-manager.js';
import { TxnCommands } from '../mvcc/txn-commands.js';
import { TxnReads } from '../mvcc/txn-reads.js';
import type { KvEngine } from '../storage/kv-engine.js';
import type { TxnDeps } from './txn-commands.js';

/** The transactional storage over a cluster's engine: one concurrency manager for all stores. */
export function createTxnDeps(engine: KvEngine): TxnDeps {
  const cm = new ConcurrencyManager();
  return { storage: new TxnCommands(engine, cm), reads: new TxnReads(engine, cm) };
}
