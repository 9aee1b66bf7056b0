// Port of client-go internal/locate/region_request3_test.go TestStoreTokenLimit and the
// StoreLimit case of region_request_test.go: a store at its limit fails the request at once.
import { isTiKVError, StoreTokenLimitError } from '@tikv/common';
import { RegionRequestSender } from '../src/region-request-sender.js';
import { type Fixture, okResponse, setupFixture } from './sender-fixture.js';

describe('store token limit (client-go StoreLimit)', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.close();
  });

  test('TestStoreTokenLimit: a store whose tokens are used up fails the request with StoreTokenLimitError', async () => {
    f = setupFixture(3, { storeLimit: 500 });
    const region = await f.region();
    f.cache.getStore(f.storeIds[0]!)!.tokenCount = 500;
    const err = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTokenLimitError);
    expect(err).toMatchObject({
      code: 'STORE_TOKEN_LIMIT',
      storeId: f.storeIds[0],
      limit: 500,
      retryable: true,
    });
    expect(f.transport.sent).toHaveLength(0);
  });

  test('tokens are taken while a request is in flight and given back when it settles, failed or not', async () => {
    f = setupFixture(3, { storeLimit: 1 });
    const region = await f.region();
    const store = f.cache.getStore(f.storeIds[0]!)!;
    let release: () => void = () => undefined;
    f.transport.handler = (s) =>
      new Promise((resolve) => {
        release = () => resolve(okResponse(s.request));
      });
    const first = f.sender.sendRequest(f.backoffer(), f.rawGet(), region);
    await new Promise((r) => setImmediate(r));
    expect(store.tokenCount).toBe(1);
    const second = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region).catch((e: unknown) => e);
    expect(isTiKVError(second, 'STORE_TOKEN_LIMIT')).toBe(true);
    release();
    await first;
    expect(store.tokenCount).toBe(0);
    f.transport.handler = () => {
      throw new Error('not an RpcError: final');
    };
    await expect(f.sender.sendRequest(f.backoffer(), f.rawGet(), region)).rejects.toThrow('final');
    expect(store.tokenCount).toBe(0);
  });

  test('no limit by default; a bad limit is refused', async () => {
    f = setupFixture();
    const region = await f.region();
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), region);
    expect(f.cache.getStore(f.storeIds[0]!)!.tokenCount).toBe(0);
    expect(
      () => new RegionRequestSender({ locator: f.cache, transport: f.transport, storeLimit: -1 }),
    ).toThrow('storeLimit');
  });
});
