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

const GC =
  'GC: the mock collects versions below the GC safe point on its next request; TiKV leaves them ' +
  'to its compaction filter, which runs only when RocksDB compacts (not in a short run), so reads ' +
  'below the safe point still see them there';

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  { scenario: 'gc-below-safe-point', path: 'get.between', reason: GC },
  { scenario: 'gc-below-safe-point', path: 'mvcc.k.info.writes', reason: GC },
  { scenario: 'gc-below-safe-point', path: 'mvcc.d.info.writes', reason: GC },
  {
    scenario: 'bad-requests',
    path: 'prewrite.valueTooLarge.regionError.raftEntryTooLarge.entrySize',
    reason:
      'TiKV measures its serialized raft command (header and every put); the mock counts the keys and values it writes, some 50 bytes less',
  },
  {
    scenario: 'bad-requests',
    path: 'get.noEpoch.regionError.epochNotMatch.currentRegions',
    reason:
      "an epoch of 0 is behind by every version, so TiKV lists up to 10 regions to the left, as many as each cluster has there: the real API V2 cluster has PD's keyspace regions besides the scenarios' own (and a reused cluster keeps earlier runs' splits)",
  },
];

/** The reason a differing field is expected, or undefined when it is not documented. */
export function explain(scenario: string, mode: Mode, path: string): string | undefined {
  return KNOWN_DIFFERENCES.find(
    (k) =>
      k.scenario === scenario &&
      (k.modes === undefined || k.modes.includes(mode)) &&
      (path === k.path || path.startsWith(`${k.path}.`) || path.startsWith(`${k.path}[`)),
  )?.reason;
}
