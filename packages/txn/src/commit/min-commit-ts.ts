/**
 * Who may raise a transaction's min commit ts (client-go `WriteAccessLevel`): the TTL manager of a
 * pipelined transaction until 2PC starts, then only 2PC.
 */
export const WriteAccess = Object.freeze({ TTL: 1, TWO_PC: 2 } as const);
/** One of the {@link WriteAccess} levels. */
export type WriteAccess = (typeof WriteAccess)[keyof typeof WriteAccess];

/**
 * A transaction's min commit ts with a required write access (client-go `minCommitTsManager`):
 * once 2PC starts it raises the requirement, and the TTL manager's updates stop counting.
 */
export class MinCommitTsManager {
  #value = 0n;
  #required: WriteAccess = WriteAccess.TTL;

  /** The current value (0 when never set). */
  get(): bigint {
    return this.#value;
  }

  /** The access an update needs. */
  get requiredWriteAccess(): WriteAccess {
    return this.#required;
  }

  /**
   * Raises the value to `value` when `access` suffices and `value` is larger.
   *
   * @param value - the candidate
   * @param access - who asks
   */
  tryUpdate(value: bigint, access: WriteAccess): void {
    if (access < this.#required) return;
    if (value > this.#value) this.#value = value;
  }

  /**
   * Raises the required access.
   *
   * @param level - the new requirement (never lowered)
   * @returns the current value
   */
  elevateWriteAccess(level: WriteAccess): bigint {
    if (level > this.#required) this.#required = level;
    return this.#value;
  }
}
