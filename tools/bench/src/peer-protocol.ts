/**
 * The line protocol between `pnpm bench peer` and its two worker processes (ours,
 * `peer-worker.ts`, and client-go's, `tools/bench/peer-go`): one JSON command a line on stdin,
 * one answer a line on stdout, after a first `ready` answer once the worker is connected.
 */

/** Answer lines start with this: client-go may log to stdout too. */
export const ANSWER_PREFIX = '@peer ';

/** Measure one operation at one concurrency. */
export interface PeerCommand {
  /** An operation name both workers register (see `peer-ops.ts`). */
  readonly op: string;
  readonly concurrency: number;
  /** Length of the measured window, after the warm-up. */
  readonly durationMs: number;
  /** Length of the unmeasured warm-up at the same concurrency. */
  readonly warmupMs: number;
}

/** A worker's answer: `ready` once, then one per command. */
export interface PeerAnswer {
  readonly ready?: boolean;
  /**
   * Sent just before the measured window opens (after the warm-up), ahead of the command's answer,
   * so the driver can read the shared server's CPU over the same window.
   */
  readonly mark?: boolean;
  readonly op?: string;
  readonly concurrency?: number;
  /** Operations completed in the measured window. */
  readonly ops: number;
  /** The measured window's actual length. */
  readonly ms: number;
  /** The worker process's own CPU time (user + system) over the window, in microseconds. */
  readonly cpuUs: number;
  readonly error?: string;
}

/** Formats an answer line. */
export function answerLine(a: PeerAnswer): string {
  return `${ANSWER_PREFIX}${JSON.stringify(a)}\n`;
}
