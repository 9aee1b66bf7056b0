import {
  type Clock,
  deliverDetails,
  EMPTY_EXEC_DETAILS,
  type ExecDetails,
  invalidArgument,
  withExecDetails,
} from '@tikv/common';
import { FlagsOp, KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockKeysOptions, LockKeysResult } from '../pessimistic/lock-keys-options.js';
import { LockKeysStats } from '../pessimistic/lock-keys-stats.js';
import type { PessimisticState } from '../pessimistic/pessimistic-state.js';

/**
 * `Transaction.lockKeys` past the transaction's checks: a pessimistic transaction locks the keys
 * in TiKV, an optimistic one marks them in its buffer (prewrite locks them); `onDetails` and
 * `onLockDetails` are told what the call did.
 *
 * @param pess - the pessimistic side of a pessimistic transaction
 * @param buffer - the buffer an optimistic transaction writes to now
 * @param clock - times the call for `onLockDetails`
 * @param checked - the keys, checked
 * @param options - the call's options, checked
 * @returns the results aligned with `checked`, at once for an optimistic transaction without
 *   details (the caller is async: a throw here rejects its promise)
 * @internal
 */
export function lockKeys(
  pess: PessimisticState | undefined,
  buffer: MemBuffer,
  clock: Clock,
  checked: readonly Uint8Array[],
  options: LockKeysOptions | undefined,
): Promise<LockKeysResult[]> | LockKeysResult[] {
  const onLockDetails = options?.onLockDetails;
  if (onLockDetails !== undefined) {
    if (typeof onLockDetails !== 'function') {
      throw invalidArgument('options.onLockDetails', 'a function or undefined', onLockDetails);
    }
    return lockKeysWithDetails(pess, buffer, clock, checked, options as LockKeysOptions, onLockDetails);
  }
  if (pess !== undefined) {
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => pess.lockKeys(checked, o));
    return pess.lockKeys(checked, options);
  }
  if (options?.onDetails !== undefined)
    return withExecDetails(options, async () => lockOptimistic(buffer, checked));
  return lockOptimistic(buffer, checked);
}

/**
 * `lockKeys` with `onLockDetails`: the call's execution details are gathered (and handed to
 * `onDetails` too, when given) and its lock counts taken, as client-go's `LockKeysDetails`.
 */
async function lockKeysWithDetails(
  pess: PessimisticState | undefined,
  buffer: MemBuffer,
  clock: Clock,
  checked: readonly Uint8Array[],
  options: LockKeysOptions,
  onLockDetails: NonNullable<LockKeysOptions['onLockDetails']>,
): Promise<LockKeysResult[]> {
  const started = clock.now();
  const stats = new LockKeysStats();
  let exec: ExecDetails = EMPTY_EXEC_DETAILS;
  const onDetails = options.onDetails;
  if (onDetails !== undefined && typeof onDetails !== 'function') {
    throw invalidArgument('options.onDetails', 'a function or undefined', onDetails);
  }
  const inner: LockKeysOptions = {
    ...options,
    onDetails: (d) => {
      exec = d;
    },
  };
  try {
    return await withExecDetails(inner, async (o) =>
      pess !== undefined ? pess.lockKeys(checked, o, stats) : lockOptimistic(buffer, checked),
    );
  } finally {
    if (onDetails !== undefined) deliverDetails(onDetails, exec);
    deliverDetails(onLockDetails, stats.finish(clock.now() - started, exec));
  }
}

/** `lockKeys` of an optimistic transaction: the keys are marked, to be locked at prewrite. */
function lockOptimistic(buffer: MemBuffer, checked: readonly Uint8Array[]): LockKeysResult[] {
  return checked.map((key) => {
    const flags = buffer.getFlags(key);
    const alreadyLocked = flags !== undefined && KeyFlags.hasLocked(flags);
    if (!alreadyLocked) buffer.updateFlags(key, FlagsOp.SetKeyLocked);
    return {
      key,
      alreadyLocked,
      locked: true,
      exists: undefined,
      value: undefined,
      lockedWithConflictTs: 0n,
    };
  });
}
