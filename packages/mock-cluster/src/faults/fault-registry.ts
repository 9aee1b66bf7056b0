import { InvalidArgumentError } from '@tikv/common';
import type { FaultHandle, FaultSpec, InjectedError } from './fault-types.js';

/** Where a request is served, for matching faults. */
export interface FaultTarget {
  readonly method: string;
  /** Undefined for PD. */
  readonly storeId?: bigint | undefined;
  readonly regionId?: bigint | undefined;
}

class Fault implements FaultHandle {
  hits = 0;
  readonly #spec: FaultSpec;
  readonly #storeId: bigint | undefined;
  readonly #regionId: bigint | undefined;
  readonly #onClear: (f: Fault) => void;

  constructor(spec: FaultSpec, onClear: (f: Fault) => void) {
    this.#spec = spec;
    this.#storeId = spec.storeId === undefined ? undefined : BigInt(spec.storeId);
    this.#regionId = spec.regionId === undefined ? undefined : BigInt(spec.regionId);
    this.#onClear = onClear;
  }

  get remaining(): number {
    return Math.max(0, this.#spec.times - this.hits);
  }

  get error(): InjectedError {
    return this.#spec.error;
  }

  matches(t: FaultTarget): boolean {
    if (this.#spec.method !== undefined && this.#spec.method !== t.method) return false;
    if (this.#storeId !== undefined && this.#storeId !== t.storeId) return false;
    if (this.#regionId !== undefined && this.#regionId !== t.regionId) return false;
    return true;
  }

  clear(): void {
    this.#onClear(this);
  }
}

/** The armed faults, consulted before every request; the oldest matching fault fires first. */
export class FaultRegistry {
  readonly #faults: Fault[] = [];

  /** Arms a fault. */
  add(spec: FaultSpec): FaultHandle {
    if (!(spec.times >= 1)) throw new InvalidArgumentError('fault times must be >= 1');
    const f = new Fault(spec, (x) => this.#drop(x));
    this.#faults.push(f);
    return f;
  }

  #drop(f: Fault): void {
    const i = this.#faults.indexOf(f);
    if (i >= 0) this.#faults.splice(i, 1);
  }

  /** Removes every fault. */
  clear(): void {
    this.#faults.length = 0;
  }

  /** Consumes one firing of the first fault matching `t`, returning its error. */
  take(t: FaultTarget): InjectedError | undefined {
    if (this.#faults.length === 0) return undefined;
    for (const f of this.#faults) {
      if (!f.matches(t)) continue;
      f.hits++;
      if (f.remaining === 0) this.#drop(f);
      return f.error;
    }
    return undefined;
  }
}
