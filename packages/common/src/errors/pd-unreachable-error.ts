import { TiKVError } from './tikv-error.js';

/** Options of a {@link PdUnreachableError}. */
export interface PdUnreachableErrorOptions extends ErrorOptions {
  /** The PD endpoints that were tried (normalised URLs). */
  readonly endpoints: readonly string[];
}

/**
 * No PD endpoint answered while connecting: every endpoint refused, failed or stayed silent
 * until the connect deadline (or the attempts) ran out. `endpoints` lists what was tried and
 * `cause` is the last failure seen, if any. Retryable: PD may be back later.
 */
export class PdUnreachableError extends TiKVError {
  override name = 'PdUnreachableError';
  declare readonly code: 'PD_UNREACHABLE';
  /** The PD endpoints that were tried. */
  readonly endpoints: readonly string[];

  /**
   * @param message - what failed, with the endpoints and the last cause
   * @param options - the endpoints tried and the last failure (`cause`)
   */
  constructor(message: string, options: PdUnreachableErrorOptions) {
    super('PD_UNREACHABLE', message, {
      retryable: true,
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.endpoints = Object.freeze([...options.endpoints]);
  }
}
