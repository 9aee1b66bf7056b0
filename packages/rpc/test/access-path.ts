// The access-path harness of client-go's replica_selector_test.go (`replicaSelectorAccessPathCase`):
// a request runs through the real RegionRequestSender and RegionCache against a transport that
// answers the n-th attempt with the n-th scripted error; the case then compares the replicas
// visited (address, replica-read, stale-read), the response's region error or the thrown error,
// the backoffs taken per kind, and whether the region is still valid in the cache.
import { Backoffer, toBytes as b, DeadlineExceededError, isTiKVError, RegionError } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import {
  type CachedRegion,
  type Liveness,
  type RegionVerId,
  type SourcePeer,
  SyncFlag,
} from '@tikv/region-cache';
import type { ReplicaReadType, StoreLabelMatch } from '../src/request-options.js';
import type { TikvRequest, TikvResponse } from '../src/tikv-commands.js';
import { type Fixture, setupFixture } from './sender-fixture.js';

/** client-go's `RegionErrorType`, by name. */
export type AccessErr =
  | 'NotLeaderErr'
  | 'NotLeaderWithNewLeader1Err'
  | 'NotLeaderWithNewLeader2Err'
  | 'NotLeaderWithNewLeader3Err'
  | 'RegionNotFoundErr'
  | 'KeyNotInRegionErr'
  | 'EpochNotMatchErr'
  | 'ServerIsBusyErr'
  | 'ServerIsBusyWithEstimatedWaitMsErr'
  | 'StaleCommandErr'
  | 'StoreNotMatchErr'
  | 'RaftEntryTooLargeErr'
  | 'MaxTimestampNotSyncedErr'
  | 'ReadIndexNotReadyErr'
  | 'ProposalInMergingModeErr'
  | 'DataIsNotReadyErr'
  | 'RegionNotInitializedErr'
  | 'DiskFullErr'
  | 'RecoveryInProgressErr'
  | 'FlashbackInProgressErr'
  | 'FlashbackNotPreparedErr'
  | 'IsWitnessErr'
  | 'MismatchPeerIdErr'
  | 'BucketVersionNotMatchErr'
  | 'DeadLineExceededErr';

/** The region error of a `RegionErrorType` (client-go `GenRegionError`); undefined for a non-region error. */
export function genRegionError(tp: AccessErr): errorpb.Error | undefined {
  const e: errorpb.DeepPartial<errorpb.Error> = (() => {
    switch (tp) {
      case 'NotLeaderErr':
        return { notLeader: {} };
      case 'RegionNotFoundErr':
        return { regionNotFound: {} };
      case 'KeyNotInRegionErr':
        return { keyNotInRegion: {} };
      case 'EpochNotMatchErr':
        return { epochNotMatch: {} };
      case 'ServerIsBusyErr':
        return { serverIsBusy: {} };
      case 'ServerIsBusyWithEstimatedWaitMsErr':
        return { serverIsBusy: { estimatedWaitMs: 10 } };
      case 'StaleCommandErr':
        return { staleCommand: {} };
      case 'StoreNotMatchErr':
        return { storeNotMatch: {} };
      case 'RaftEntryTooLargeErr':
        return { raftEntryTooLarge: {} };
      case 'MaxTimestampNotSyncedErr':
        return { maxTimestampNotSynced: {} };
      case 'ReadIndexNotReadyErr':
        return { readIndexNotReady: {} };
      case 'ProposalInMergingModeErr':
        return { proposalInMergingMode: {} };
      case 'DataIsNotReadyErr':
        return { dataIsNotReady: {} };
      case 'RegionNotInitializedErr':
        return { regionNotInitialized: {} };
      case 'DiskFullErr':
        return { diskFull: {} };
      case 'RecoveryInProgressErr':
        return { RecoveryInProgress: {} };
      case 'FlashbackInProgressErr':
        return { FlashbackInProgress: {} };
      case 'FlashbackNotPreparedErr':
        return { FlashbackNotPrepared: {} };
      case 'IsWitnessErr':
        return { isWitness: {} };
      case 'MismatchPeerIdErr':
        return { mismatchPeerId: {} };
      case 'BucketVersionNotMatchErr':
        return { bucketVersionNotMatch: {} };
      default:
        return {};
    }
  })();
  return Object.keys(e).length === 0 ? undefined : errorpb.Error.fromPartial(e);
}

/**
 * Whether TiKV could answer `tp` to this attempt (client-go `RegionErrorType.Valid`): no
 * DataIsNotReady outside stale reads, no NotLeader to replica or stale reads, and no NotLeader
 * naming the store that answers it.
 */
function isValidAnswer(tp: AccessErr, addr: string, ctx: kvrpcpb.Context): boolean {
  const notLeader = tp.startsWith('NotLeader');
  if (!ctx.staleRead && tp === 'DataIsNotReadyErr') return false;
  if ((ctx.staleRead || ctx.replicaRead) && notLeader) return false;
  if (notLeader && tp.endsWith(`${addr.replace('store', '')}Err`) && tp !== 'NotLeaderErr') return false;
  return true;
}

/** One case: the request, the errors the attempts get, what is expected. */
export interface AccessPathCase {
  readonly reqType: 'Get' | 'Prewrite';
  readonly readType: ReplicaReadType;
  readonly staleRead?: boolean;
  /** The attempt timeout in ms (client-go `timeout`); 0 means `ReadTimeoutShort` (30 s). */
  readonly timeoutMs?: number;
  readonly busyThresholdMs?: number;
  readonly label?: StoreLabelMatch;
  readonly accessErr: readonly AccessErr[];
  /** Whether the region cache forwards leader requests through a follower (client-go `enableForwarding`). */
  readonly enableForwarding?: boolean;
  /** Runs before the request (default: nothing; the fixture is fresh per case). */
  readonly beforeRun?: (f: Fixture) => void | Promise<void>;
  /** Runs after the request, with the region it was sent for. */
  readonly afterRun?: (f: Fixture, verId: RegionVerId) => void;
}

/** What a case produced (client-go `accessPathResult`). */
export interface AccessPathResult {
  accessPath: string[];
  /** The thrown error as `name:kind` (`RegionError:RaftEntryTooLarge`) or `name:code`; '' when the call resolved. */
  respErr: string;
  /** The response's region error, undefined when none. */
  respRegionError: errorpb.Error | undefined;
  /** `kind+count`, sorted. */
  backoffDetail: string[];
  regionIsValid: boolean;
  /** Set when an answer was one TiKV could not give (client-go skips such cases). */
  accessErrInvalid: boolean;
}

const CTX_OF = (r: TikvRequest): kvrpcpb.Context =>
  (r.value as { context?: kvrpcpb.Context }).context ?? kvrpcpb.Context.fromPartial({});

function response(req: TikvRequest, regionError?: errorpb.Error): TikvResponse {
  if (req.$case === 'Prewrite')
    return { $case: 'Prewrite', value: kvrpcpb.PrewriteResponse.fromPartial({ regionError }) };
  return {
    $case: 'Get',
    value: kvrpcpb.GetResponse.fromPartial(
      regionError === undefined ? { value: b('hello world') } : { regionError },
    ),
  };
}

/** A NotLeader naming the peer on store `storeId` as the new leader (client-go `genNotLeaderErr`). */
function notLeaderWith(f: Fixture, region: CachedRegion, storeId: bigint): errorpb.Error {
  const peer = region.meta.peers.find((p: SourcePeer) => p.storeId === storeId);
  return errorpb.Error.fromPartial({
    notLeader: {
      regionId: f.regionId,
      leader: peer === undefined ? undefined : { id: peer.id, storeId: peer.storeId },
    },
  });
}

/** Gives every store the label `id=<store id>`, as client-go's `BootstrapWithMultiStores` does. */
export function labelStoresById(f: Fixture): void {
  for (const id of f.storeIds) f.cluster.updateStoreLabels(id, [{ key: 'id', value: String(id) }]);
}

/** Moves the region's leader to the peer on `storeId` (client-go `changeRegionLeader`). */
export function changeRegionLeader(f: Fixture, storeId: bigint): void {
  const peer = f.cluster.region(f.regionId).peers.find((p) => p.storeId === storeId);
  if (peer !== undefined) f.cluster.changeLeader(f.regionId, peer.id);
}

/**
 * Runs a case on a fresh three-store fixture (client-go `replicaSelectorAccessPathCase.run`,
 * with a fresh suite per case instead of `resetStoreState`).
 */
export async function runAccessPathCase(
  ca: AccessPathCase,
  shared?: AccessPathFixture,
): Promise<AccessPathResult> {
  const own = shared === undefined ? accessPathFixture(ca) : undefined;
  const { f, liveness } = shared ?? own!;
  try {
    await ca.beforeRun?.(f);
    const verId = await f.region();
    const region = f.cache.getCachedRegion(verId) as CachedRegion;
    const result: AccessPathResult = {
      accessPath: [],
      respErr: '',
      respRegionError: undefined,
      backoffDetail: [],
      regionIsValid: false,
      accessErrInvalid: false,
    };
    f.transport.handler = (sent, idx) => {
      const ctx = CTX_OF(sent.request);
      const forwardedHost = sent.options?.forwardedHost;
      result.accessPath.push(
        forwardedHost === undefined
          ? `{addr: ${sent.addr}, replica-read: ${ctx.replicaRead}, stale-read: ${ctx.staleRead}}`
          : `{addr: ${sent.addr}, replica-read: ${ctx.replicaRead}, stale-read: ${ctx.staleRead}, forward_addr: ${forwardedHost}}`,
      );
      // A forwarded request is answered as if by the store it is forwarded to.
      const answeringAddr = forwardedHost ?? sent.addr;
      const tp = ca.accessErr[idx];
      if (tp !== undefined) {
        if (!isValidAnswer(tp, answeringAddr, ctx)) {
          result.accessErrInvalid = true;
        } else {
          if (tp === 'DeadLineExceededErr') {
            // client-go injects unreachable liveness for every store along with the error.
            liveness.current = 'unreachable';
            throw new DeadlineExceededError('context deadline exceeded');
          }
          const current = f.cache.getCachedRegion(verId) ?? region;
          const regionError =
            tp === 'NotLeaderWithNewLeader1Err'
              ? notLeaderWith(f, current, 1n)
              : tp === 'NotLeaderWithNewLeader2Err'
                ? notLeaderWith(f, current, 2n)
                : tp === 'NotLeaderWithNewLeader3Err'
                  ? notLeaderWith(f, current, 3n)
                  : genRegionError(tp);
          return response(sent.request, regionError);
        }
      }
      return response(sent.request);
    };
    const request: TikvRequest =
      ca.reqType === 'Prewrite'
        ? { $case: 'Prewrite', value: kvrpcpb.PrewriteRequest.fromPartial({}) }
        : { $case: 'Get', value: kvrpcpb.GetRequest.fromPartial({ key: b('key') }) };
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 40_000, random: () => 0.5 });
    const timeoutMs = ca.timeoutMs === undefined || ca.timeoutMs === 0 ? 30_000 : ca.timeoutMs;
    try {
      const res = await f.sender.sendRequest(bo, request, verId, {
        replicaRead: ca.staleRead === true ? 'mixed' : ca.readType,
        staleRead: ca.staleRead === true,
        rpcTimeoutMs: timeoutMs,
        ...(ca.busyThresholdMs === undefined ? {} : { busyThresholdMs: ca.busyThresholdMs }),
        ...(ca.label === undefined ? {} : { matchStoreLabels: [ca.label] }),
      });
      result.respRegionError = (res.value as { regionError?: errorpb.Error }).regionError;
    } catch (e) {
      result.respErr = describeError(e);
    }
    result.backoffDetail = [...bo.backoffTimes].map(([k, n]) => `${k}+${n}`).sort();
    // client-go `isValid`: not invalidated, and not flagged for a reload on next access.
    result.regionIsValid =
      region.invalidReason === 'ok' && !region.checkSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
    ca.afterRun?.(f, verId);
    return result;
  } finally {
    if (own !== undefined) await f.close();
  }
}

/**
 * Runs cases one after the other on one fixture, each starting from the state the previous left
 * (client-go `runMultiCaseAndCompare` with afterRun/beforeRun that neither invalidate the region
 * nor reset the stores).
 */
export async function runAccessPathCases(cases: readonly AccessPathCase[]): Promise<AccessPathResult[]> {
  const shared = accessPathFixture(cases[0] ?? { reqType: 'Get', readType: 'leader', accessErr: [] });
  try {
    const results: AccessPathResult[] = [];
    for (const ca of cases) {
      shared.f.transport.sent.length = 0;
      results.push(await runAccessPathCase(ca, shared));
    }
    return results;
  } finally {
    await shared.f.close();
  }
}

/** A fixture and the liveness its stores' health checks report (client-go `injectConstantLiveness`). */
export interface AccessPathFixture {
  readonly f: Fixture;
  readonly liveness: { current: Liveness };
}

/** A fresh three-store fixture, stores labelled by id, every store reachable until a case says otherwise. */
function accessPathFixture(ca: AccessPathCase): AccessPathFixture {
  const liveness: { current: Liveness } = { current: 'reachable' };
  const f = setupFixture(
    3,
    {},
    { enableForwarding: ca.enableForwarding === true, livenessProbe: async () => liveness.current },
  );
  labelStoresById(f);
  return { f, liveness };
}

/** An error as `name:kind` for a RegionError, `name:code` for another TiKVError. */
function describeError(e: unknown): string {
  if (e instanceof RegionError) return `${e.name}:${e.kind}`;
  if (isTiKVError(e)) return `${e.name}:${e.code}`;
  return String(e);
}

/** The pseudo EpochNotMatch the sender answers when no replica is left (client-go `fakeEpochNotMatch`). */
export function isFakeEpochNotMatch(e: errorpb.Error | undefined): boolean {
  return e?.epochNotMatch !== undefined && e.epochNotMatch.currentRegions.length === 0;
}

/** What a case expects (client-go `accessPathResult`); `fakeEpochNotMatch` stands for the sender's pseudo error. */
export interface Expect {
  accessPath: string[];
  /** The thrown error, `name:kind` (see {@link AccessPathResult}). */
  respErr?: string;
  respRegionError?: 'fakeEpochNotMatch' | AccessErr;
  backoffDetail: string[];
  regionIsValid: boolean;
}

/** Access-path entries: `[store, replica-read, stale-read]`, plus the store forwarded to when proxied. */
export const path = (
  ...stores: ([number, boolean, boolean] | [number, boolean, boolean, number])[]
): string[] =>
  stores.map(([s, replica, stale, forward]) =>
    forward === undefined
      ? `{addr: store${s}, replica-read: ${replica}, stale-read: ${stale}}`
      : `{addr: store${s}, replica-read: ${replica}, stale-read: ${stale}, forward_addr: store${forward}}`,
  );

/** `n` copies of `x` (long runs of one answer or one access-path entry in the tables). */
export const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

/**
 * A table row in short form: the request is a Get unless `reqType` says otherwise, and no
 * backoff and a valid region are expected unless `expected` says otherwise.
 */
export function row(
  ca: Omit<AccessPathCase, 'reqType'> & { readonly reqType?: AccessPathCase['reqType'] },
  expected: Pick<Expect, 'accessPath'> & Partial<Expect>,
): { ca: AccessPathCase; expect: Expect } {
  return {
    ca: { reqType: 'Get', ...ca },
    expect: { backoffDetail: [], regionIsValid: true, ...expected },
  };
}

/** The result and the expectation in one comparable shape. */
function comparable(r: AccessPathResult, expected: Expect): { got: object; want: object } {
  return {
    got: {
      accessPath: r.accessPath,
      respErr: r.respErr,
      respRegionError: r.respRegionError,
      backoffDetail: r.backoffDetail,
      regionIsValid: r.regionIsValid,
    },
    want: {
      accessPath: expected.accessPath,
      respErr: expected.respErr ?? '',
      respRegionError:
        expected.respRegionError === undefined
          ? undefined
          : expected.respRegionError === 'fakeEpochNotMatch'
            ? expect.objectContaining({ epochNotMatch: { currentRegions: [] } })
            : genRegionError(expected.respRegionError),
      backoffDetail: expected.backoffDetail,
      regionIsValid: expected.regionIsValid,
    },
  };
}

/** client-go `runCaseAndCompare`: skips a case whose scripted answers TiKV could not give. */
export async function expectCase(ca: AccessPathCase, expected: Expect): Promise<void> {
  const r = await runAccessPathCase(ca);
  if (r.accessErrInvalid) return;
  const { got, want } = comparable(r, expected);
  expect({ case: ca, ...got }).toEqual({ case: ca, ...want });
  if (expected.respRegionError === 'fakeEpochNotMatch')
    expect(isFakeEpochNotMatch(r.respRegionError)).toBe(true);
}

/** One case of a table, or several run one after the other on one fixture. */
export type AccessPathRow =
  | { ca: AccessPathCase; expect: Expect }
  | { shared: { ca: AccessPathCase; expect: Expect }[] };

/** A `beforeRun` that moves the region's leader to store `storeId` (client-go `s.changeRegionLeader`). */
export const leader =
  (storeId: number) =>
  (f: Fixture): void =>
    changeRegionLeader(f, BigInt(storeId));

/**
 * Runs a table of cases (client-go's case lists) and expects every valid one to match; the
 * failures are reported together, each with its row number.
 */
export async function expectRows(rows: readonly AccessPathRow[]): Promise<void> {
  const failures: object[] = [];
  const check = (row: number, ca: AccessPathCase, r: AccessPathResult, expected: Expect): void => {
    if (r.accessErrInvalid) return;
    const { got, want } = comparable(r, expected);
    if (!equals(got, want)) failures.push({ row, case: ca, got, want });
  };
  for (const [i, row] of rows.entries()) {
    if ('shared' in row) {
      const results = await runAccessPathCases(row.shared.map((x) => x.ca));
      results.forEach((r, j) => {
        check(i, row.shared[j]!.ca, r, row.shared[j]!.expect);
      });
    } else {
      check(i, row.ca, await runAccessPathCase(row.ca), row.expect);
    }
  }
  expect(failures).toEqual([]);
}

/** Jest's deep equality (asymmetric matchers included), as a boolean. */
function equals(a: object, b: object): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}
