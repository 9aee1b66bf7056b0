import { CodecV2, KeyspaceState } from '@tikv/keyspace';
import { kvrpcpb } from '@tikv/proto';
import { CodecTransport, type RequestCodec } from './codec-transport.js';
import type { SendOptions } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

class EchoTransport implements KvTransport {
  readonly seen: TikvRequest[] = [];
  closed: string[] = [];
  async send<R extends TikvRequest>(_a: string, request: R, _o?: SendOptions): Promise<ResponseFor<R>> {
    this.seen.push(request);
    const key = (request.value as { key: Uint8Array }).key;
    return {
      $case: 'RawScan',
      value: kvrpcpb.RawScanResponse.fromPartial({ kvs: [{ key, value: b('v') }] }),
    } as unknown as ResponseFor<R>;
  }
  async closeAddress(a: string): Promise<void> {
    this.closed.push(a);
  }
  async close(): Promise<void> {
    this.closed.push('*');
  }
}

describe('CodecTransport', () => {
  test("@tikv/keyspace's CodecV2 satisfies RequestCodec and keys are encoded and decoded", async () => {
    const codec: RequestCodec = new CodecV2('raw', {
      id: 5,
      name: 'ks',
      state: KeyspaceState.ENABLED,
      createdAt: 0n,
      stateChangedAt: 0n,
      config: {},
    } as ConstructorParameters<typeof CodecV2>[1]);
    const inner = new EchoTransport();
    const t = new CodecTransport(inner, codec);
    const res = await t.send('s1', {
      $case: 'RawScan',
      value: kvrpcpb.RawScanRequest.fromPartial({ startKey: b('a'), endKey: b('b'), limit: 1 }),
    });
    const sent = inner.seen[0]?.value as kvrpcpb.RawScanRequest;
    expect(Array.from(sent.startKey)).toEqual([0x72, 0, 0, 5, ...b('a')]);
    expect(sent.context?.apiVersion).toBe(kvrpcpb.APIVersion.V2);
    expect(res.$case).toBe('RawScan');
    await t.closeAddress('s1');
    await t.close();
    expect(inner.closed).toEqual(['s1', '*']);
  });
});
