import { isTiKVError } from '@tikv/common';

/**
 * The one line a failed command prints: `error CODE: message`, with the `TiKVError` code, or
 * `INTERNAL` for an error from elsewhere.
 */
export function errorLine(e: unknown): string {
  const code = isTiKVError(e) ? e.code : 'INTERNAL';
  const message = messageOf(e);
  return `error ${code}: ${message.replace(/\s*\n\s*/g, ' ').trim()}`;
}

/** An error's message (any object with a string `message`, from any realm), or the value as text. */
export function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null | undefined)?.message;
  return typeof m === 'string' ? m : String(e);
}
