/** Plain result types of PD calls that are not regions, stores or timestamps. */

/** A key range `[startKey, endKey)`; an empty end key is unbounded. */
export interface KeyRange {
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
}

/** The state of a PD operator. */
export const OperatorStatus = Object.freeze({
  SUCCESS: 'success',
  TIMEOUT: 'timeout',
  CANCEL: 'cancel',
  REPLACE: 'replace',
  RUNNING: 'running',
} as const);
/** One of the {@link OperatorStatus} values. */
export type OperatorStatus = (typeof OperatorStatus)[keyof typeof OperatorStatus];
/** Operator statuses by their pdpb.OperatorStatus number. */
export const OPERATOR_STATUSES: readonly OperatorStatus[] = [
  'success',
  'timeout',
  'cancel',
  'replace',
  'running',
];

/** What {@link PdClient.getOperator} reports. */
export interface OperatorInfo {
  readonly regionId: bigint;
  readonly desc: string;
  readonly kind: string;
  readonly status: OperatorStatus;
}

/** What {@link PdClient.splitRegions} reports. */
export interface SplitRegionsResult {
  /** How much of the split finished, in percent. */
  readonly finishedPercentage: number;
  /** The ids of the regions the split created. */
  readonly regionIds: bigint[];
}

/** What {@link PdClient.scatterRegion} and {@link PdClient.scatterRegions} report. */
export interface ScatterRegionsResult {
  /** How much of the scatter finished, in percent (100 when nothing failed). */
  readonly finishedPercentage: number;
  /** The regions PD could not scatter (unknown, or no store to move them to); empty when all went. */
  readonly failedRegionIds: bigint[];
}

/** What {@link PdClient.splitAndScatterRegions} reports. */
export interface SplitAndScatterRegionsResult {
  /** How much of the split finished, in percent. */
  readonly splitFinishedPercentage: number;
  /** How much of the scatter of the new regions finished, in percent. */
  readonly scatterFinishedPercentage: number;
  /** The ids of the regions the split created. */
  readonly regionIds: bigint[];
}

/** One PD member (`pdpb.Member`). */
export interface PdMember {
  readonly name: string;
  readonly memberId: bigint;
  readonly clientUrls: readonly string[];
  readonly peerUrls: readonly string[];
}

/** What {@link PdClient.getAllMembers} reports. */
export interface PdMembers {
  readonly members: readonly PdMember[];
  /** The PD leader; undefined while there is none. */
  readonly leader: PdMember | undefined;
  /** The leader of PD's embedded etcd. */
  readonly etcdLeader: PdMember | undefined;
}
