/**
 * The operations of `pnpm bench peer`, our side. client-go's side registers the same names in
 * `tools/bench/peer-go/ops_*.go` with the same keys and sizes; a new operation (a txn commit, a
 * snapshot batchGet) is one entry here, one `register` there and one row in {@link PEER_OPS}.
 */
import type { RawClient } from '@tikv/raw';

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
});
