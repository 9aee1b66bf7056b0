import type { RequestOptions } from '@tikv/common';
import type { StoreLister } from '../range-task/store-deps.js';

/** A peer of a region (`@tikv/pd`'s `PeerInfo`). */
export interface AdminPeer {
  readonly id: bigint;
  readonly storeId: bigint;
  /** `voter`, `learner`, `incomingVoter` or `demotingVoter`. */
  readonly role: string;
}

/** A region as PD reports it (`@tikv/pd`'s `RegionInfo`), keys in the client's keys. */
export interface AdminRegionInfo {
  readonly region: {
    readonly id: bigint;
    readonly startKey: Uint8Array;
    readonly endKey: Uint8Array;
    readonly epoch: { readonly confVer: bigint; readonly version: bigint };
    readonly peers: readonly AdminPeer[];
  };
  /** Undefined while PD knows no leader. */
  readonly leader: AdminPeer | undefined;
  readonly downPeers: readonly AdminPeer[];
  readonly pendingPeers: readonly AdminPeer[];
}

/** A PD operator's state (`@tikv/pd`'s `OperatorInfo`). */
export interface AdminOperator {
  readonly regionId: bigint;
  readonly desc: string;
  /** `success`, `timeout`, `cancel`, `replace` or `running`. */
  readonly status: string;
}

/**
 * What cluster administration needs from PD: `@tikv/pd`'s `PdClient` (connected with the
 * client's codec, so keys are the client's) satisfies it.
 */
export interface AdminPd extends StoreLister {
  getRegion(key: Uint8Array, options?: RequestOptions): Promise<AdminRegionInfo | undefined>;
  getRegionById(regionId: bigint, options?: RequestOptions): Promise<AdminRegionInfo | undefined>;
  scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    options?: RequestOptions,
  ): Promise<AdminRegionInfo[]>;
  splitRegions(
    splitKeys: readonly Uint8Array[],
    options?: RequestOptions,
  ): Promise<{ readonly finishedPercentage: number; readonly regionIds: bigint[] }>;
  scatterRegions(
    regionIds: readonly bigint[],
    options?: RequestOptions,
  ): Promise<{ readonly finishedPercentage: number; readonly failedRegionIds: bigint[] }>;
  getOperator(regionId: bigint, options?: RequestOptions): Promise<AdminOperator>;
}

/** Timestamps for flashback (`@tikv/pd`'s `PdOracle`). */
export interface AdminOracle {
  getTimestamp(options?: RequestOptions): Promise<bigint>;
}
