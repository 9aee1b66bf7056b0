import * as grpc from '@grpc/grpc-js';
import { MockCluster } from '../index.js';

/** Field number -> values (varints as bigint, length-delimited fields as bytes) of one message. */
type Fields = Map<number, (bigint | Uint8Array)[]>;

function readVarint(buf: Uint8Array, at: { pos: number }): bigint {
  let out = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = buf[at.pos++] as number;
    out |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return out;
  }
}

/** A minimal protobuf reader: enough for etcd's MemberListResponse (varints and bytes only). */
function decodeFields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const tag = Number(readVarint(buf, at));
    const field = tag >> 3;
    let value: bigint | Uint8Array;
    if ((tag & 7) === 0) value = readVarint(buf, at);
    else if ((tag & 7) === 2) {
      const len = Number(readVarint(buf, at));
      value = buf.subarray(at.pos, at.pos + len);
      at.pos += len;
    } else throw new Error(`unexpected wire type ${tag & 7}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

const text = (v: bigint | Uint8Array | undefined): string => Buffer.from(v as Uint8Array).toString();

/** Calls etcd's Cluster/MemberList on `address` with a raw request body; the raw response. */
function memberList(address: string, request: Uint8Array): Promise<Uint8Array> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Uint8Array>((resolve, reject) => {
    client.makeUnaryRequest(
      '/etcdserverpb.Cluster/MemberList',
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => new Uint8Array(b),
      request,
      (err, value) => (err !== null || value === undefined ? reject(err) : resolve(value)),
    );
  }).finally(() => client.close());
}

describe("etcd's Cluster/MemberList on PD's client port", () => {
  let cluster: MockCluster;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, pdMembers: 2 });
  });
  afterAll(async () => {
    await cluster.close();
  });

  // client-go's txnkv.NewClient opens an etcd client on the PD endpoints and calls Sync (this
  // RPC, linearizable) before anything else; it then dials the members' client URLs.
  it('lists every member with its client URL; the header names the member that answered', async () => {
    const members = cluster.pdMembers();
    for (const [i, m] of members.entries()) {
      const linearizable = Uint8Array.of(0x08, 0x01);
      const resp = decodeFields(await memberList(m.address, linearizable));
      const header = decodeFields(resp.get(1)?.[0] as Uint8Array);
      expect(header.get(1)).toEqual([cluster.clusterId]);
      expect(header.get(2)).toEqual([members[i]?.memberId]);
      const listed = (resp.get(2) ?? []).map((raw) => {
        const f = decodeFields(raw as Uint8Array);
        return {
          id: f.get(1)?.[0],
          name: text(f.get(2)?.[0]),
          peerUrls: (f.get(3) ?? []).map(text),
          clientUrls: (f.get(4) ?? []).map(text),
        };
      });
      expect(listed).toEqual(
        members.map((x) => ({
          id: x.memberId,
          name: x.name,
          peerUrls: [x.clientUrl],
          clientUrls: [x.clientUrl],
        })),
      );
    }
  });

  it('answers on a follower too, and lists a stopped member (etcd keeps its membership)', async () => {
    await cluster.stopPdMember(0);
    try {
      const follower = cluster.pdMembers()[1];
      const resp = decodeFields(await memberList(follower?.address as string, new Uint8Array(0)));
      expect(resp.get(2)).toHaveLength(2);
    } finally {
      await cluster.startPdMember(0);
    }
  });
});
