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
