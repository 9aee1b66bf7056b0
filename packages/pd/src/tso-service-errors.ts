import { PdError, type PdErrorType } from '@tikv/common';
import { tsopb } from '@tikv/proto';

/** `tsopb.ErrorType` as our PD error types (`CLUSTER_MISMATCHED` has no PD twin: `UNKNOWN`). */
const TSO_ERROR_TYPES: Readonly<Record<number, PdErrorType>> = Object.freeze({
  [tsopb.ErrorType.UNKNOWN]: 'UNKNOWN',
  [tsopb.ErrorType.NOT_BOOTSTRAPPED]: 'NOT_BOOTSTRAPPED',
  [tsopb.ErrorType.ALREADY_BOOTSTRAPPED]: 'ALREADY_BOOTSTRAPPED',
  [tsopb.ErrorType.INVALID_VALUE]: 'INVALID_VALUE',
  [tsopb.ErrorType.CLUSTER_MISMATCHED]: 'UNKNOWN',
});

/**
 * The error a TSO microservice response header carries, or one for a response of another
 * cluster; undefined when the header is fine. Every such error is retryable: the TSO client
 * answers them by asking another TSO server or the keyspace group's current primary.
 *
 * @internal
 */
export function errorFromTsoHeader(
  header: tsopb.ResponseHeader | undefined,
  clusterId: bigint,
): PdError | undefined {
  if (header === undefined) return undefined;
  const e = header.error;
  if (e !== undefined && e.type !== tsopb.ErrorType.OK) {
    return new PdError(TSO_ERROR_TYPES[e.type] ?? 'UNKNOWN', e.message, { retryable: true });
  }
  if (header.clusterId !== 0n && header.clusterId !== clusterId) {
    return new PdError(
      'UNKNOWN',
      `cluster id mismatch: TSO response from ${header.clusterId}, client of ${clusterId}`,
      {
        retryable: true,
      },
    );
  }
  return undefined;
}

/** The messages of an error and its causes. */
function messages(e: unknown): string {
  const out: string[] = [];
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 8; depth++) {
    if (c instanceof Error) {
      out.push(c.message);
      c = c.cause;
    } else {
      out.push(String(c));
      break;
    }
  }
  return out.join('\n');
}

// PD's servers say these only in messages (gRPC UNKNOWN with the text of their error), so the
// client reads them there, as PD's Go client does (`errs.IsLeaderChange`, `IsCalleeMismatch`).
const LEADER_CHANGE_MARKS = ['no leader', 'not leader', 'is not served', 'not primary'];
const CALLEE_MISMATCH_MARK = 'mismatch callee id';

/**
 * Whether a TSO failure means the serving member moved (PD's `IsLeaderChange`): "no leader",
 * "not leader", "is not served" (a TSO server that does not serve the keyspace group) or "not
 * primary". The client then refreshes the serving endpoint before its next stream.
 *
 * @internal
 */
export function isTsoLeaderChange(e: unknown): boolean {
  const m = messages(e);
  return LEADER_CHANGE_MARKS.some((mark) => m.includes(mark));
}

/**
 * Whether a TSO failure says the server is not the one the request named (PD's
 * `IsCalleeMismatch`): the connection reached another server at that address (a stale DNS
 * entry, a reused port) and must be recreated.
 *
 * @internal
 */
export function isCalleeMismatch(e: unknown): boolean {
  return messages(e).includes(CALLEE_MISMATCH_MARK);
}

/**
 * The callee id PD's client puts in TSO request headers (`grpcutil.GetCalleeID`): the
 * `host:port` of the server URL.
 *
 * @internal
 */
export function calleeIdOf(url: string): string {
  try {
    const u = new URL(url);
    if (u.host !== '') return u.host;
  } catch {
    // not a URL: a bare host:port is its own callee id
  }
  return /^[^/\s]+:\d+$/.test(url) ? url : '';
}
