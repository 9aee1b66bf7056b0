import { isTiKVError, ManualClock } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { SendOptions } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import { CollapsingTransport, collapseKey } from './request-collapse.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/** A transport that holds every request until the test answers it (client-go `chanClient`). */
class HeldTransport implements KvTransport {
  readonly sent: {
    request: TikvRequest;
    options: SendOptions | undefined;
    answer: () => void;
    fail: (e: unknown) => void;
  }[] = [];
  send<R extends TikvRequest>(_address: string, request: R, options?: SendOptions): Promise<ResponseFor<R>> {
    return new Promise((resolve, reject) => {
      this.sent.push({
        request,
        options,
        answer: () =>
          resolve({
            $case: 'ResolveLock',
            value: kvrpcpb.ResolveLockResponse.fromPartial({}),
          } as ResponseFor<R>),
        fail: reject,
      });
    });
  }
  async closeAddress(): Promise<void> {}
  async close(): Promise<void> {}
}

const resolveLock = (
  regionId: bigint,
  startVersion: bigint,
  commitVersion: bigint,
  keys: Uint8Array[] = [],
  isAsync = false,
) =>
  ({
    $case: 'ResolveLock',
    value: kvrpcpb.ResolveLockRequest.fromPartial({
      context: { regionId },
      startVersion,
      commitVersion,
      keys,
      isAsync,
    }),
  }) as const;
const batchResolveLock = (regionId: bigint) =>
  ({
    $case: 'ResolveLock',
    value: kvrpcpb.ResolveLockRequest.fromPartial({
      context: { regionId },
      txnInfos: [{ txn: 10n, status: 20n }],
    }),
  }) as const;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CollapsingTransport (client-go client_collapse.go)', () => {
  test('TestCollapseResolveLock: identical region-wide ResolveLocks share one call; lite, batch and different ones do not', async () => {
    const inner = new HeldTransport();
    const t = new CollapsingTransport(inner);
    const send = (r: TikvRequest) => t.send('store1', r);

    // Two identical ResolveLocks: one call, both get its response.
    let pending = [send(resolveLock(1n, 10n, 20n)), send(resolveLock(1n, 10n, 20n))];
    await turn();
    expect(inner.sent).toHaveLength(1);
    expect(inner.sent[0]?.request).toEqual(resolveLock(1n, 10n, 20n));
    inner.sent[0]?.answer();
    const [a, b] = await Promise.all(pending);
    expect(a).toBe(b);
    expect(t.inflight).toBe(0);

    // Async ones collapse among themselves.
    inner.sent.length = 0;
    pending = [send(resolveLock(1n, 10n, 20n, [], true)), send(resolveLock(1n, 10n, 20n, [], true))];
    await turn();
    expect(inner.sent).toHaveLength(1);
    inner.sent[0]?.answer();
    await Promise.all(pending);

    // A sync and an async one are not collapsed together.
    inner.sent.length = 0;
    pending = [send(resolveLock(1n, 10n, 20n)), send(resolveLock(1n, 10n, 20n, [], true))];
    await turn();
    expect(inner.sent).toHaveLength(2);
    for (const s of inner.sent) s.answer();
    await Promise.all(pending);

    // ResolveLockLite (keys) and a batch resolve (txn infos) are never collapsed.
    for (const r of [resolveLock(1n, 10n, 20n, [Buffer.from('foo')]), batchResolveLock(1n)]) {
      inner.sent.length = 0;
      pending = [send(r), send(r)];
      await turn();
      expect(inner.sent).toHaveLength(2);
      expect(inner.sent.map((s) => s.request)).toEqual([r, r]);
      for (const s of inner.sent) s.answer();
      await Promise.all(pending);
    }

    // Mixed: three different requests, three calls.
    inner.sent.length = 0;
    pending = [
      send(resolveLock(1n, 10n, 20n)),
      send(resolveLock(1n, 10n, 20n, [Buffer.from('foo')])),
      send(batchResolveLock(1n)),
    ];
    await turn();
    expect(inner.sent).toHaveLength(3);
    for (const s of inner.sent) s.answer();
    await Promise.all(pending);
    // Other regions and other transactions are other keys; other commands pass through.
    expect(collapseKey(resolveLock(1n, 10n, 20n))).not.toBe(collapseKey(resolveLock(2n, 10n, 20n)));
    expect(collapseKey(resolveLock(1n, 10n, 20n))).not.toBe(collapseKey(resolveLock(1n, 11n, 20n)));
    expect(collapseKey({ $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({}) })).toBeUndefined();
  });

  test('a caller that stops waiting leaves the shared call to the others; an error reaches every caller', async () => {
    const inner = new HeldTransport();
    const clock = new ManualClock({ startMs: 0 });
    const t = new CollapsingTransport(inner, { clock, sharedTimeoutMs: 5_000 });
    const ac = new AbortController();
    const reason = new Error('stop');
    const aborted = t
      .send('store1', resolveLock(1n, 10n, 20n), { signal: ac.signal })
      .catch((e: unknown) => e);
    const timedOut = t.send('store1', resolveLock(1n, 10n, 20n), { timeoutMs: 100 }).catch((e: unknown) => e);
    const patient = t.send('store1', resolveLock(1n, 10n, 20n));
    await turn();
    expect(inner.sent).toHaveLength(1);
    // The shared call is bound to none of them: its own timeout, no signal.
    expect(inner.sent[0]?.options).toEqual({ timeoutMs: 5_000 });
    ac.abort(reason);
    expect(await aborted).toBe(reason);
    clock.advance(100);
    expect(isTiKVError(await timedOut, 'DEADLINE_EXCEEDED')).toBe(true);
    inner.sent[0]?.answer();
    await expect(patient).resolves.toMatchObject({ $case: 'ResolveLock' });

    const failure = new Error('store down');
    const both = [t.send('store1', resolveLock(1n, 11n, 0n)), t.send('store1', resolveLock(1n, 11n, 0n))].map(
      (p) => p.catch((e: unknown) => e),
    );
    await turn();
    inner.sent.at(-1)?.fail(failure);
    expect(await Promise.all(both)).toEqual([failure, failure]);
    expect(t.inflight).toBe(0);
    // The next one sends again.
    const again = t.send('store1', resolveLock(1n, 11n, 0n));
    await turn();
    inner.sent.at(-1)?.answer();
    await expect(again).resolves.toBeDefined();
  });
});
