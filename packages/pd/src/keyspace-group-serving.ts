/** PD's default keyspace group: it serves every keyspace not assigned to another group. */
export const DEFAULT_KEYSPACE_GROUP_ID = 0;

/** A keyspace group as the TSO microservice describes it (`tsopb.KeyspaceGroup`). */
export interface KeyspaceGroupInfo {
  /** The group id. */
  readonly id: number;
  /** The members' URLs. */
  readonly members: readonly { readonly url: string; readonly isPrimary: boolean }[];
  /** Set while the group is the target of a split: the group it splits from. */
  readonly splitSource?: number | undefined;
}

/** What {@link KeyspaceGroupServing.update} did. */
export interface KeyspaceGroupUpdate {
  /** The primary before the update ('' when the update was refused as stale). */
  readonly oldPrimaryUrl: string;
  /** Whether the primary URL changed. */
  readonly primarySwitched: boolean;
  /** Whether the update was taken (false: its mod revision was older than the one held). */
  readonly metaChanged: boolean;
}

/**
 * The serving endpoints of the keyspace group a client's keyspace belongs to (PD's
 * `keyspaceGroupSvcDiscovery`): the group, its primary and secondaries, and the etcd mod
 * revision they were read at. An answer read at an older revision than the one held is
 * refused, since a TSO server that answered it has a stale view of the groups.
 */
export class KeyspaceGroupServing {
  #group: KeyspaceGroupInfo | undefined;
  #primaryUrl = '';
  #secondaryUrls: readonly string[] = [];
  #urls: readonly string[] = [];
  #modRevision = 0n;

  /** The group, undefined until the first answer. */
  get group(): KeyspaceGroupInfo | undefined {
    return this.#group;
  }

  /** The group id; the default group (0) until known. */
  get groupId(): number {
    return this.#group?.id ?? DEFAULT_KEYSPACE_GROUP_ID;
  }

  /** The primary's URL ('' until known). */
  get primaryUrl(): string {
    return this.#primaryUrl;
  }

  /** The other members' URLs. */
  get secondaryUrls(): readonly string[] {
    return this.#secondaryUrls;
  }

  /** Every member's URL. */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /** The etcd mod revision of what is held. */
  get modRevision(): bigint {
    return this.#modRevision;
  }

  /**
   * Takes an answer unless it is older than what is held. An empty `primaryUrl` keeps the
   * primary held (the answering server did not know it); everything else is replaced.
   */
  update(
    group: KeyspaceGroupInfo,
    primaryUrl: string,
    secondaryUrls: readonly string[],
    urls: readonly string[],
    modRevision: bigint,
  ): KeyspaceGroupUpdate {
    // The revision guards the membership only; a primary can change without a new revision.
    if (this.#modRevision > modRevision)
      return { oldPrimaryUrl: '', primarySwitched: false, metaChanged: false };
    const oldPrimaryUrl = this.#primaryUrl;
    let primarySwitched = false;
    if (primaryUrl !== '') {
      primarySwitched = oldPrimaryUrl.toLowerCase() !== primaryUrl.toLowerCase();
      this.#primaryUrl = primaryUrl;
    }
    this.#secondaryUrls = secondaryUrls;
    this.#group = group;
    this.#urls = urls;
    this.#modRevision = modRevision;
    return { oldPrimaryUrl, primarySwitched, metaChanged: true };
  }
}
