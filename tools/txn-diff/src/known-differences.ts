/**
 * Differences between the mock and TiKV that stay, each with its reason (README.md has the
 * longer story). A field path matches an entry when it starts with the entry's `path`.
 */
import type { Mode } from './target.js';

/** One documented difference. */
export interface KnownDifference {
  readonly scenario: string;
  readonly modes?: readonly Mode[];
  /** A prefix of the field paths it covers (`label.field`). */
  readonly path: string;
  readonly reason: string;
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [];

/** The reason a differing field is expected, or undefined when it is not documented. */
export function explain(scenario: string, mode: Mode, path: string): string | undefined {
  return KNOWN_DIFFERENCES.find(
    (k) =>
      k.scenario === scenario &&
      (k.modes === undefined || k.modes.includes(mode)) &&
      (path === k.path || path.startsWith(`${k.path}.`) || path.startsWith(`${k.path}[`)),
  )?.reason;
}
