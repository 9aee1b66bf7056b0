import { keyspacepb } from '@tikv/proto';
import { KeyspaceError, KeyspaceErrorReason } from './keyspace-errors.js';

/** A keyspace's lifecycle state. Only an `enabled` keyspace may be used. */
export const KeyspaceState = Object.freeze({
  ENABLED: 'enabled',
  DISABLED: 'disabled',
  ARCHIVED: 'archived',
  TOMBSTONE: 'tombstone',
} as const);
/** One of the {@link KeyspaceState} values. */
export type KeyspaceState = (typeof KeyspaceState)[keyof typeof KeyspaceState];

const STATES: Readonly<Record<number, KeyspaceState>> = {
  [keyspacepb.KeyspaceState.ENABLED]: KeyspaceState.ENABLED,
  [keyspacepb.KeyspaceState.DISABLED]: KeyspaceState.DISABLED,
  [keyspacepb.KeyspaceState.ARCHIVED]: KeyspaceState.ARCHIVED,
  [keyspacepb.KeyspaceState.TOMBSTONE]: KeyspaceState.TOMBSTONE,
};

/** A keyspace as PD describes it (`keyspacepb.KeyspaceMeta` with a numeric id). */
export interface KeyspaceMeta {
  /** The keyspace id (0 .. 2^24 - 1 for API V2). */
  readonly id: number;
  /** The keyspace name. */
  readonly name: string;
  /** Its lifecycle state. */
  readonly state: KeyspaceState;
  /** Unix seconds it was created at. */
  readonly createdAt: bigint;
  /** Unix seconds its state last changed at. */
  readonly stateChangedAt: bigint;
  /** Its configuration (for example `tso_keyspace_group_id`). */
  readonly config: Readonly<Record<string, string>>;
}

/** The wire form of a keyspace's meta, as a `KeyspaceSource` returns it. */
export type WireKeyspaceMeta = keyspacepb.KeyspaceMeta;

/**
 * Converts PD's keyspace meta. A meta without an id arm has id 0, as in Go.
 *
 * @param wire - the meta PD returned
 * @returns the meta in this package's terms
 * @throws KeyspaceError `UNSUPPORTED_IDENTITY` for an API V3 namespace/keyspace identity
 */
export function keyspaceMetaFromWire(wire: WireKeyspaceMeta): KeyspaceMeta {
  if (wire.keyspace?.$case === 'keyspaceIdentity') {
    throw new KeyspaceError(
      KeyspaceErrorReason.UNSUPPORTED_IDENTITY,
      `keyspace ${wire.name} uses an API V3 keyspace identity, which is not supported`,
      { keyspaceName: wire.name },
    );
  }
  return Object.freeze({
    id: wire.keyspace?.value ?? 0,
    name: wire.name,
    state: STATES[wire.state] ?? KeyspaceState.DISABLED,
    createdAt: wire.createdAt,
    stateChangedAt: wire.stateChangedAt,
    config: Object.freeze({ ...wire.config }),
  });
}

/** Tells a wire meta from a converted one. @internal */
export function isWireKeyspaceMeta(m: KeyspaceMeta | WireKeyspaceMeta): m is WireKeyspaceMeta {
  return 'keyspace' in m;
}
