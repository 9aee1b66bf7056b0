import { type CommitOptions, type CommitTuning, resolveCommitOptions } from '../commit/commit-options.js';
import type { SnapshotOptions } from '../snapshot/snapshot-options.js';
import type { BeginOptions } from './transaction-options.js';

/**
 * The {@link CommitOptions} a transaction's {@link BeginOptions} may set, under the same names;
 * the others are the client's tuning, or the transaction's own.
 */
const BEGIN_COMMIT_FIELDS = [
  'asyncCommit',
  'onePc',
  'causalConsistency',
  'assertionLevel',
  'priority',
  'requestSource',
  'resourceGroupName',
  'resourceGroupTag',
  'resourceGroupTagger',
  'diskFullOpt',
  'commitTsUpperBoundCheck',
  'commitTsChecker',
] as const satisfies readonly (keyof CommitOptions & keyof BeginOptions)[];

/** How many resolved commit options a client keeps: a handful of combinations, unless `assertionLevel` is garbage. */
const MAX_RESOLVED_COMMITS = 64;

/**
 * Whether the begin options tag the transaction's requests: tagging changes both its reads and
 * its commit; without it both take the client's defaults, resolved once.
 *
 * @internal
 */
export function isTaggedBegin(o: BeginOptions): boolean {
  return (
    o.priority !== undefined ||
    o.requestSource !== undefined ||
    o.resourceGroupName !== undefined ||
    o.resourceGroupTag !== undefined ||
    o.resourceGroupTagger !== undefined ||
    o.diskFullOpt !== undefined ||
    o.commitTsUpperBoundCheck !== undefined ||
    o.commitTsChecker !== undefined
  );
}

/**
 * The read options a transaction's snapshot takes from its begin options; `undefined` for the
 * client's defaults (no tagging, no isolation level).
 *
 * @param tagged - {@link isTaggedBegin} of `o`
 * @internal
 */
export function beginSnapshotOptions(o: BeginOptions, tagged: boolean): SnapshotOptions | undefined {
  if (!tagged && o.isolation === undefined) return undefined;
  return {
    ...(o.isolation === undefined ? {} : { isolationLevel: o.isolation }),
    ...(o.priority === undefined ? {} : { priority: o.priority }),
    ...(o.requestSource === undefined ? {} : { requestSource: o.requestSource }),
    ...(o.resourceGroupName === undefined ? {} : { resourceGroupName: o.resourceGroupName }),
    ...(o.resourceGroupTag === undefined ? {} : { resourceGroupTag: o.resourceGroupTag }),
    ...(o.resourceGroupTagger === undefined ? {} : { resourceGroupTagger: o.resourceGroupTagger }),
  };
}

/**
 * A client's transactions' commit options: the client's commit defaults under each begin's
 * options. Those of a begin without tagging are resolved (`resolveCommitOptions`) once per
 * combination of the protocol switches, so the commit finds them resolved.
 *
 * @internal
 */
export class BeginCommitOptions {
  readonly #defaults: CommitTuning;
  readonly #resolved = new Map<string, CommitOptions>();

  /** @param defaults - the client's commit options */
  constructor(defaults: CommitTuning) {
    this.#defaults = defaults;
  }

  /**
   * The commit options of a transaction begun with `o`.
   *
   * @param tagged - {@link isTaggedBegin} of `o`
   */
  of(o: BeginOptions, tagged: boolean): CommitOptions {
    return tagged ? this.merged(o) : this.#untagged(o);
  }

  /** The client's defaults under the begin options, unresolved. */
  merged(o: BeginOptions): CommitOptions {
    return { ...this.#defaults, ...definedFields(o, BEGIN_COMMIT_FIELDS) };
  }

  /**
   * {@link merged} of a begin without tagging options, resolved once per combination of the
   * protocol switches. Options that do not resolve are left for the commit to refuse, as they
   * would be without the memo.
   */
  #untagged(o: BeginOptions): CommitOptions {
    const key = `${o.asyncCommit}|${o.onePc}|${o.causalConsistency}|${o.assertionLevel}`;
    let commit = this.#resolved.get(key);
    if (commit === undefined) {
      commit = this.merged(o);
      try {
        commit = resolveCommitOptions(commit);
      } catch {
        return commit;
      }
      if (this.#resolved.size >= MAX_RESOLVED_COMMITS) this.#resolved.clear();
      this.#resolved.set(key, commit);
    }
    return commit;
  }
}

/** The fields of `o` named in `names` that are not undefined, in the order of `names`. */
function definedFields<T extends object, K extends keyof T>(o: T, names: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const name of names) {
    const value = o[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
