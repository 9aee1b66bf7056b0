import type { GenericServiceDefinition, ServiceHandlers } from '../server/grpc-host.js';
import type { PdMembership } from './pd-members.js';

/**
 * etcd's `etcdserverpb.Cluster/MemberList`, which PD serves on its client port from the etcd it
 * embeds. client-go's `txnkv.NewClient` opens an etcd client on the PD endpoints and syncs its
 * member list before anything else, so a cluster without it cannot be used by a Go transactional
 * client. Only this method is served; `@tikv/proto` has no etcd messages, so the two messages are
 * encoded here by hand (etcd's `api/etcdserverpb/rpc.proto`).
 */

/** A member as etcd lists it (`etcdserverpb.Member`). */
export interface EtcdMember {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** `etcdserverpb.MemberListResponse`, with the header fields etcd fills. */
export interface EtcdMemberListResponse {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly raftTerm: bigint;
  readonly members: readonly EtcdMember[];
}

class ProtoWriter {
  readonly #bytes: number[] = [];

  varint(v: bigint): this {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.#bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#bytes.push(Number(x));
    return this;
  }

  /** A varint field, skipped when zero (proto3). */
  uint64(field: number, v: bigint): this {
    return v === 0n ? this : this.varint(BigInt(field << 3)).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.varint(BigInt((field << 3) | 2)).varint(BigInt(b.length));
    for (const x of b) this.#bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Encodes a MemberListResponse as etcd does. */
export function encodeMemberListResponse(r: EtcdMemberListResponse): Uint8Array {
  const header = new ProtoWriter()
    .uint64(1, r.clusterId)
    .uint64(2, r.memberId)
    .uint64(4, r.raftTerm)
    .finish();
  const w = new ProtoWriter().bytes(1, header);
  for (const m of r.members) {
    const mw = new ProtoWriter().uint64(1, m.id).string(2, m.name);
    for (const u of m.peerUrls) mw.string(3, u);
    for (const u of m.clientUrls) mw.string(4, u);
    w.bytes(2, mw.finish());
  }
  return w.finish();
}

/** The request's only field (`linearizable`) changes nothing here: every member has the same list. */
const memberListRequest = {
  encode: () => new ProtoWriter(),
  decode: () => ({}),
  fromPartial: () => ({}),
};

const memberListResponse = {
  encode: (r: EtcdMemberListResponse) => ({ finish: () => encodeMemberListResponse(r) }),
  decode: () => {
    throw new Error('the mock only serves MemberList');
  },
  fromPartial: (r: EtcdMemberListResponse) => r,
};

/** The served part of etcd's `Cluster` service. */
export const EtcdClusterDefinition: GenericServiceDefinition = {
  fullName: 'etcdserverpb.Cluster',
  methods: {
    memberList: {
      name: 'MemberList',
      requestType: memberListRequest,
      responseType: memberListResponse,
      requestStream: false,
      responseStream: false,
    },
  },
};

/** MemberList as PD member `index` answers it: every member, with its client URL. */
export function createEtcdClusterHandlers(
  membership: PdMembership,
  clusterId: bigint,
  index: number,
): ServiceHandlers {
  return {
    memberList: (): EtcdMemberListResponse => ({
      clusterId,
      memberId: membership.info()[index]?.memberId ?? 0n,
      raftTerm: 1n,
      members: membership.info().map((m) => ({
        id: m.memberId,
        name: m.name,
        peerUrls: [m.clientUrl],
        clientUrls: [m.clientUrl],
      })),
    }),
  };
}
