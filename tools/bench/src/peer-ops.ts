/**
 * The operations of `pnpm bench peer`, our side. client-go's side registers the same names in
 * `tools/bench/peer-go/ops_*.go` with the same keys and sizes; a new operation (a txn commit, a
 * snapshot batchGet) is one entry here, one `register` there and one row in {@link PEER_OPS}.
 */
import type { RawClient } from '@tikv/raw';
import type { BeginOptions, TransactionClient } from '@tikv/txn';

/** Keys per batchGet. */
export const BATCH_KEYS = 16;

/** What an operation's setup gets: the cluster, the shared key set and lazily made clients. */
export interface PeerOpEnv {
  readonly pdEndpoint: string;
  /** The shared key set: 16-byte keys, the same on both sides ({@link peerKeyOf}). */
  readonly keys: readonly Uint8Array[];
  /** The value every write stores. */
  readonly value: Uint8Array;
  /** The one raw client every raw operation shares, connected on first use. */
  rawClient(): Promise<RawClient>;
  /** The one transactional client every txn operation shares, connected on first use. */
  txnClient(): Promise<TransactionClient>;
}

/** Runs the i-th operation of a measurement; i grows by one per call across all workers. */
export type PeerOp = (i: number) => Promise<unknown>;

/** An operation of the peer run: its table label and its setup (run once per worker process). */
export interface PeerOpSpec {
  readonly label: string;
  setup(env: PeerOpEnv): Promise<PeerOp>;
}

/** The i-th key of the shared set: 16 bytes, as client-go's worker spells it. */
export function peerKeyOf(i: number): Uint8Array {
  return Buffer.from(`bench-peer-${String(i).padStart(5, '0')}`);
}

/** The raw client after writing every key of the set, so reads find values. */
async function loadedRaw(env: PeerOpEnv): Promise<RawClient> {
  const raw = await env.rawClient();
  await raw.batchPut(env.keys.map((key) => ({ key, value: env.value })));
  return raw;
}

/** The i-th pair of keys a commit operation writes, as client-go's worker spells them. */
function commitKeys(name: string, i: number): [Uint8Array, Uint8Array] {
  const k = `bench-${name}-${String(i % 1_000_000).padStart(6, '0')}`;
  return [Buffer.from(`${k}a`), Buffer.from(`${k}b`)];
}

/** A 2-key commit operation: two fresh keys per transaction, so none conflict. */
function commitOp(name: string, label: string, options: BeginOptions): PeerOpSpec {
  return {
    label,
    async setup(env) {
      const client = await env.txnClient();
      const { value } = env;
      return async (i) => {
        const txn = await client.begin(options);
        const [a, b] = commitKeys(name, i);
        txn.put(a, value);
        txn.put(b, value);
        await txn.commit();
      };
    },
  };
}

/** Every operation, by the name both workers know it by, in table order. */
export const PEER_OPS: Readonly<Record<string, PeerOpSpec>> = Object.freeze({
  get: {
    label: 'get',
    async setup(env) {
      const raw = await loadedRaw(env);
      const { keys } = env;
      return (i) => raw.get(keys[i % keys.length] as Uint8Array);
    },
  },
  put: {
    label: 'put',
    async setup(env) {
      const raw = await env.rawClient();
      const { keys, value } = env;
      return (i) => raw.put(keys[i % keys.length] as Uint8Array, value);
    },
  },
  batchGet: {
    label: `batchGet ${BATCH_KEYS} keys`,
    async setup(env) {
      const raw = await loadedRaw(env);
      const batches = Array.from({ length: Math.floor(env.keys.length / BATCH_KEYS) }, (_, b) =>
        env.keys.slice(b * BATCH_KEYS, (b + 1) * BATCH_KEYS),
      );
      return (i) => raw.batchGet(batches[i % batches.length] as Uint8Array[]);
    },
  },
  commit2pc: commitOp('commit2pc', 'txn commit 2 keys, 2PC', {}),
  commitAsync: commitOp('commitAsync', 'txn commit 2 keys, async commit', { asyncCommit: true }),
  commit1pc: commitOp('commit1pc', 'txn commit 2 keys, 1PC', { onePc: true }),
  snapshotBatchGet: {
    label: `snapshot batchGet ${BATCH_KEYS} keys`,
    async setup(env) {
      const client = await env.txnClient();
      await client.run(async (txn) => {
        for (const key of env.keys) txn.put(key, env.value);
      });
      const ts = await client.currentTimestamp();
      const batches = Array.from({ length: Math.floor(env.keys.length / BATCH_KEYS) }, (_, b) =>
        env.keys.slice(b * BATCH_KEYS, (b + 1) * BATCH_KEYS),
      );
      // A snapshot per read, as client-go's side does: no cache across operations.
      return (i) => client.snapshot(ts).batchGet(batches[i % batches.length] as Uint8Array[]);
    },
  },
});
