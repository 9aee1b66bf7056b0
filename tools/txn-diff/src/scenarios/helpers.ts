/** Request builders the scenarios share. */
import { kvrpcpb } from '@tikv/proto';
import type { Session } from '../session.js';

export const { Op, Assertion } = kvrpcpb;
const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Bytes of a string value. */
export function val(s: string): Uint8Array {
  return enc.encode(s);
}

/** A mutation. */
export function mutation(
  op: kvrpcpb.Op,
  key: Uint8Array,
  value: Uint8Array | string = EMPTY,
  assertion: kvrpcpb.Assertion = kvrpcpb.Assertion.None,
): kvrpcpb.Mutation {
  return { op, key, value: typeof value === 'string' ? val(value) : value, assertion };
}

/** A Put mutation. */
export const put = (key: Uint8Array, value: string, assertion?: kvrpcpb.Assertion): kvrpcpb.Mutation =>
  mutation(Op.Put, key, value, assertion);
/** A Del mutation. */
export const del = (key: Uint8Array, assertion?: kvrpcpb.Assertion): kvrpcpb.Mutation =>
  mutation(Op.Del, key, EMPTY, assertion);
/** A PessimisticLock mutation (for KvPessimisticLock). */
export const pLock = (key: Uint8Array): kvrpcpb.Mutation => mutation(Op.PessimisticLock, key);

/** The options of a prewrite besides its mutations. */
export type PrewriteFields = Omit<kvrpcpb.DeepPartial<kvrpcpb.PrewriteRequest>, 'mutations' | 'context'>;

/** Prewrites `mutations` (primary: the first key unless given) and records the answer. */
export function prewrite(
  s: Session,
  label: string,
  mutations: kvrpcpb.Mutation[],
  startTs: bigint,
  fields: PrewriteFields = {},
): Promise<kvrpcpb.PrewriteResponse> {
  return s.call(label, 'kvPrewrite', {
    mutations,
    primaryLock: mutations[0]?.key ?? EMPTY,
    startVersion: startTs,
    lockTtl: 3000n,
    txnSize: BigInt(mutations.length),
    ...fields,
  });
}

/** Commits `keys` of the transaction at `startTs` and records the answer. */
export function commit(
  s: Session,
  label: string,
  keys: Uint8Array[],
  startTs: bigint,
  commitTs: bigint,
): Promise<kvrpcpb.CommitResponse> {
  return s.call(label, 'kvCommit', { keys, startVersion: startTs, commitVersion: commitTs });
}

/**
 * Writes committed versions: prewrite then commit `mutations` with fresh timestamps named
 * `<name>.start` / `<name>.commit`; both answers are recorded.
 */
export async function write(
  s: Session,
  name: string,
  mutations: kvrpcpb.Mutation[],
): Promise<{ startTs: bigint; commitTs: bigint }> {
  const startTs = await s.ts(`${name}.start`);
  await prewrite(s, `${name}.prewrite`, mutations, startTs);
  const commitTs = await s.ts(`${name}.commit`);
  await commit(
    s,
    `${name}.commit`,
    mutations.map((m) => m.key),
    startTs,
    commitTs,
  );
  return { startTs, commitTs };
}

/** Reads `key` at `ts` (with its commit ts) and records the answer. */
export function get(
  s: Session,
  label: string,
  key: Uint8Array,
  ts: bigint,
  fields: Omit<kvrpcpb.DeepPartial<kvrpcpb.GetRequest>, 'key' | 'version' | 'context'> = {},
): Promise<kvrpcpb.GetResponse> {
  return s.call(label, 'kvGet', { key, version: ts, needCommitTs: true, ...fields });
}

/** Records every MVCC record of `key` (MvccGetByKey). */
export function mvcc(s: Session, label: string, key: Uint8Array): Promise<kvrpcpb.MvccGetByKeyResponse> {
  return s.call(label, 'mvccGetByKey', { key });
}

/** Acquires pessimistic locks (no waiting unless `waitTimeout` says so) and records the answer. */
export function lockKeys(
  s: Session,
  label: string,
  keys: Uint8Array[],
  startTs: bigint,
  forUpdateTs: bigint,
  fields: Omit<
    kvrpcpb.DeepPartial<kvrpcpb.PessimisticLockRequest>,
    'mutations' | 'startVersion' | 'forUpdateTs' | 'context'
  > = {},
): Promise<kvrpcpb.PessimisticLockResponse> {
  return s.call(label, 'kvPessimisticLock', {
    mutations: keys.map(pLock),
    primaryLock: keys[0] ?? EMPTY,
    startVersion: startTs,
    forUpdateTs,
    lockTtl: 3000n,
    waitTimeout: -1n,
    isFirstLock: false,
    ...fields,
  });
}
