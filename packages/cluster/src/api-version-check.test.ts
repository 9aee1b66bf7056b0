// The API version check connectCluster makes (moved from @tikv/raw with the wiring): which stores
// it asks, what counts as a mismatch, and what a transactional client is let through with.
import { ApiVersionMismatchError, noopLogger } from '@tikv/common';
import { type Codec, CodecV2, createCodec, KeyMode, KeyspaceState } from '@tikv/keyspace';
import type { KvTransport } from '@tikv/rpc';
import { checkApiVersion } from './api-version-check.js';

describe('checkApiVersion', () => {
  let codec: Codec;
  beforeAll(async () => {
    codec = await createCodec({ apiVersion: 'V1', mode: KeyMode.RAW });
  });
  const store = (address: string, state = 'up', labels: { key: string; value: string }[] = []) => ({
    address,
    state,
    labels,
  });

  function transport(answers: Record<string, string | Error>, asked: string[]): KvTransport {
    return {
      send: (async (
        address: string,
        request: { $case: string; value: { context?: { apiVersion: number } } },
      ) => {
        asked.push(address);
        expect(request.$case).toBe('RawGet');
        expect(request.value.context?.apiVersion).toBe(0);
        const a = answers[address];
        if (a instanceof Error) throw a;
        return { $case: 'RawGet', value: { error: a ?? '', notFound: true, value: new Uint8Array(0) } };
      }) as unknown as KvTransport['send'],
      closeAddress: async () => {},
      close: async () => {},
    };
  }

  test('asks only up TiKV stores, at most three, until one answers', async () => {
    const asked: string[] = [];
    const pd = {
      getAllStores: async () => [
        store('flash:1', 'up', [{ key: 'engine', value: 'tiflash' }]),
        store('off:1', 'offline'),
        store('a:1'),
        store('b:1'),
        store('c:1'),
        store('d:1'),
      ],
    };
    const down = new Error('unreachable');
    await checkApiVersion(
      {
        pd,
        transport: transport({ 'a:1': down, 'b:1': down, 'c:1': down }, asked),
        codec,
        logger: noopLogger,
      },
      undefined,
    );
    expect(asked).toEqual(['a:1', 'b:1', 'c:1']);
    asked.length = 0;
    await checkApiVersion(
      { pd, transport: transport({ 'a:1': down }, asked), codec, logger: noopLogger },
      undefined,
    );
    expect(asked).toEqual(['a:1', 'b:1']);
  });

  test("other storage errors are not a mismatch; the caller's abort is its reason", async () => {
    const pd = { getAllStores: async () => [store('a:1')] };
    await expect(
      checkApiVersion(
        { pd, transport: transport({ 'a:1': 'ttl is not enabled' }, []), codec, logger: noopLogger },
        undefined,
      ),
    ).resolves.toBeUndefined();
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(
      checkApiVersion(
        { pd, transport: transport({ 'a:1': new Error('aborted') }, []), codec, logger: noopLogger },
        { signal: controller.signal },
      ),
    ).rejects.toBe(reason);
  });
});

describe('checkApiVersion in txn mode', () => {
  const pd = { getAllStores: async () => [{ address: 'a:1', state: 'up', labels: [] }] };
  const mismatch = (storage: string, request: string) =>
    `Api version in request does not match with TiKV storage, cmd: raw_get, storage: ${storage}, request: ${request}`;
  function answering(error: string, seen: unknown[]): KvTransport {
    return {
      send: (async (_address: string, request: { value: unknown }) => {
        seen.push(request.value);
        return { $case: 'RawGet', value: { error, notFound: true, value: new Uint8Array(0) } };
      }) as unknown as KvTransport['send'],
      closeAddress: async () => {},
      close: async () => {},
    };
  }

  test('a V1 transactional client on V2 storage is let through (TiKV serves TiDB keys to it)', async () => {
    const codec = await createCodec({ apiVersion: 'V1', mode: KeyMode.TXN });
    await expect(
      checkApiVersion(
        { pd, transport: answering(mismatch('V2', 'V1'), []), codec, logger: noopLogger },
        undefined,
      ),
    ).resolves.toBeUndefined();
  });

  test('a V2 transactional client on V1 storage is refused; the probe is a raw key of its keyspace', async () => {
    const codec = new CodecV2(KeyMode.TXN, {
      id: 7,
      name: 'ks',
      state: KeyspaceState.ENABLED,
      createdAt: 0n,
      stateChangedAt: 0n,
      config: {},
    });
    const seen: unknown[] = [];
    const e = await checkApiVersion(
      { pd, transport: answering(mismatch('V1', 'V2'), seen), codec, logger: noopLogger },
      undefined,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiVersionMismatchError);
    expect(e).toMatchObject({ clientApiVersion: 'V2', clusterApiVersion: 'V1', storeAddress: 'a:1' });
    const probe = seen[0] as { key: Uint8Array; context: { keyspaceId: number } };
    expect([...probe.key]).toEqual([0x72, 0, 0, 7, 0]);
  });
});
