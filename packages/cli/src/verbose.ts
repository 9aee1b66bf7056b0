import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { BACKOFF_CHANNEL, type BackoffEvent, isTiKVError } from '@tikv/common';
import { RPC_RETRY_CHANNEL, type RpcRetryEvent } from '@tikv/rpc';

/**
 * An error in a few words: a TiKVError's code and message, another error's name and message, or
 * for a region error off the wire (`errorpb.Error`) the kinds it carries and its message.
 */
export function describeError(e: unknown): string {
  if (isTiKVError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    const kinds = Object.keys(o).filter((k) => k !== 'message' && o[k] !== undefined && o[k] !== null);
    const message = typeof o.message === 'string' && o.message !== '' ? `: ${o.message}` : '';
    return `region error ${kinds.join(', ') || '(empty)'}${message}`;
  }
  return String(e);
}

/**
 * Prints every request retry (`tikv:rpc:retry`) and backoff sleep (`tikv:backoff`) to `write`
 * until the returned function is called.
 *
 * @param write - writes one line (with its newline)
 * @returns stops printing
 */
export function printRetries(write: (line: string) => void): () => void {
  const onRetry = (message: unknown): void => {
    const e = message as RpcRetryEvent;
    const region = e.regionId === undefined ? '' : ` region ${e.regionId}`;
    write(`retry #${e.attempt} ${e.command} to ${e.address}${region}: ${describeError(e.error)}\n`);
  };
  const onBackoff = (message: unknown): void => {
    const e = message as BackoffEvent;
    write(
      `backoff ${e.kind} ${e.sleepMs} ms (attempt ${e.attempt}, ${e.totalSleepMs} ms in all): ${describeError(e.error)}\n`,
    );
  };
  subscribe(RPC_RETRY_CHANNEL, onRetry);
  subscribe(BACKOFF_CHANNEL, onBackoff);
  return () => {
    unsubscribe(RPC_RETRY_CHANNEL, onRetry);
    unsubscribe(BACKOFF_CHANNEL, onBackoff);
  };
}
