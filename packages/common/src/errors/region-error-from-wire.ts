import { RegionError, type RegionErrorKind } from './region-error.js';

/**
 * The shape of kvproto `errorpb.Error` this client reads: the message and one
 * optional payload per arm, with ts-proto's field names. The three arms whose
 * proto field names are capitalised are accepted in both spellings.
 */
export interface WireRegionError {
  readonly message?: string;
  readonly notLeader?: unknown;
  readonly regionNotFound?: unknown;
  readonly keyNotInRegion?: unknown;
  readonly epochNotMatch?: unknown;
  readonly serverIsBusy?: unknown;
  readonly staleCommand?: unknown;
  readonly storeNotMatch?: unknown;
  readonly raftEntryTooLarge?: unknown;
  readonly maxTimestampNotSynced?: unknown;
  readonly readIndexNotReady?: unknown;
  readonly proposalInMergingMode?: unknown;
  readonly dataIsNotReady?: unknown;
  readonly regionNotInitialized?: unknown;
  readonly diskFull?: unknown;
  readonly recoveryInProgress?: unknown;
  readonly RecoveryInProgress?: unknown;
  readonly flashbackInProgress?: unknown;
  readonly FlashbackInProgress?: unknown;
  readonly flashbackNotPrepared?: unknown;
  readonly FlashbackNotPrepared?: unknown;
  readonly isWitness?: unknown;
  readonly mismatchPeerId?: unknown;
  readonly bucketVersionNotMatch?: unknown;
  readonly undeterminedResult?: unknown;
}

type ArmField = Exclude<keyof WireRegionError, 'message'>;

/** Arms in `errorpb.Error` field order, each with the field names that carry it. */
const ARMS: readonly (readonly [RegionErrorKind, readonly ArmField[]])[] = [
  ['NotLeader', ['notLeader']],
  ['RegionNotFound', ['regionNotFound']],
  ['KeyNotInRegion', ['keyNotInRegion']],
  ['EpochNotMatch', ['epochNotMatch']],
  ['ServerIsBusy', ['serverIsBusy']],
  ['StaleCommand', ['staleCommand']],
  ['StoreNotMatch', ['storeNotMatch']],
  ['RaftEntryTooLarge', ['raftEntryTooLarge']],
  ['MaxTimestampNotSynced', ['maxTimestampNotSynced']],
  ['ReadIndexNotReady', ['readIndexNotReady']],
  ['ProposalInMergingMode', ['proposalInMergingMode']],
  ['DataIsNotReady', ['dataIsNotReady']],
  ['RegionNotInitialized', ['regionNotInitialized']],
  ['DiskFull', ['diskFull']],
  ['RecoveryInProgress', ['recoveryInProgress', 'RecoveryInProgress']],
  ['FlashbackInProgress', ['flashbackInProgress', 'FlashbackInProgress']],
  ['FlashbackNotPrepared', ['flashbackNotPrepared', 'FlashbackNotPrepared']],
  ['IsWitness', ['isWitness']],
  ['MismatchPeerId', ['mismatchPeerId']],
  ['BucketVersionNotMatch', ['bucketVersionNotMatch']],
  ['UndeterminedResult', ['undeterminedResult']],
];

function payloadRegionId(detail: unknown): bigint | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const id = (detail as { regionId?: unknown }).regionId;
  if (typeof id === 'bigint') return id === 0n ? undefined : id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return BigInt(id);
  return undefined;
}

/**
 * Converts a wire `errorpb.Error` to a {@link RegionError}: the first arm set
 * (in proto field order) gives the kind and the detail; `Other` when no known
 * arm is set.
 *
 * @param wire - the region error as decoded from the wire
 * @param context - the region and store the request was sent to
 * @returns the region error
 */
export function regionErrorFromWire(
  wire: WireRegionError,
  context: { readonly regionId?: bigint; readonly storeId?: bigint } = {},
): RegionError {
  let kind: RegionErrorKind = 'Other';
  let detail: unknown;
  for (const [armKind, fields] of ARMS) {
    const field = fields.find((f) => wire[f] !== undefined && wire[f] !== null);
    if (field !== undefined) {
      kind = armKind;
      detail = wire[field];
      break;
    }
  }
  const regionId = context.regionId ?? payloadRegionId(detail);
  return new RegionError(kind, wire.message ?? '', {
    ...(regionId === undefined ? {} : { regionId }),
    ...(context.storeId === undefined ? {} : { storeId: context.storeId }),
    detail,
  });
}
