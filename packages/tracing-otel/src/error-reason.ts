import { type Exception, type Span, SpanStatusCode } from '@opentelemetry/api';
import { isTiKVError, RegionError, regionErrorFromWire, type WireRegionError } from '@tikv/common';

/**
 * A short, low-cardinality reason for an error, fit for a span attribute: a region error's kind
 * (also for a region error still in its wire form), a TiKVError's code, another error's name.
 *
 * @param error - what failed
 * @returns the reason
 */
export function errorReason(error: unknown): string {
  if (error instanceof RegionError) return error.kind;
  if (isTiKVError(error)) return error.code;
  if (error instanceof Error) return error.name;
  if (typeof error === 'object' && error !== null) return regionErrorFromWire(error as WireRegionError).kind;
  return String(error);
}

/**
 * Marks a span failed: the error as an exception event and the status `ERROR` with its message.
 *
 * @param span - the span
 * @param error - what failed
 */
export function failSpan(span: Span, error: unknown): void {
  const exception: Exception = error instanceof Error ? error : String(error);
  span.recordException(exception);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
