// Per-call request tagging of `lockKeys` (client-go `LockCtx.ResourceGroupTag` and
// `LockCtx.ResourceGroupTagger`, which override the transaction's tag for that call's
// PessimisticLock requests), checked on the wire: an RPC interceptor records the context of
// every request the client sends to the embedded mock cluster.
import { MockCluster } from '@tikv/mock-cluster';
import type { kvrpcpb } from '@tikv/proto';
import { TransactionClient, type TransactionClientOptions } from '../src/index.js';

const enc = new TextEncoder();
const k = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

type Interceptor = NonNullable<NonNullable<TransactionClientOptions['sender']>['interceptors']>[number];

/** What one request carried. */
interface Sent {
  readonly command: string;
  readonly tag: string;
  /** The keys of a PessimisticLock request. */
  readonly keys: string[];
}

let cluster: MockCluster;
let client: TransactionClient;
let sent: Sent[] = [];

const recorder: Interceptor = {
  name: 'tag-recorder',
  wrap: (next) => (address, request, o) => {
    const value = request.value as { context?: kvrpcpb.Context };
    const lock = request.$case === 'PessimisticLock' ? request.value : undefined;
    sent.push({
      command: request.$case,
      tag: text(value.context?.resourceGroupTag ?? new Uint8Array(0)),
      keys: lock === undefined ? [] : lock.mutations.map((m) => text(m.key)),
    });
    return next(address, request, o);
  },
};

beforeAll(async () => {
  cluster = await MockCluster.start({ regionKeyEncoding: 'memcomparable' });
  // Two regions: a call locking a and n sends one lock request to each.
  cluster.split([k('m')]);
  client = await TransactionClient.connect({
    pdEndpoints: cluster.pdEndpoints,
    sender: { interceptors: [recorder] },
  });
});

afterAll(async () => {
  await client.close();
  await cluster.close();
});

beforeEach(() => {
  sent = [];
});

const locks = () => sent.filter((s) => s.command === 'PessimisticLock');

describe('lockKeys resource group tag (client-go LockCtx.ResourceGroupTag / ResourceGroupTagger)', () => {
  test("a call's tag replaces the transaction's on its lock requests only", async () => {
    const txn = await client.begin({ pessimistic: true, resourceGroupTag: k('txn-tag') });
    await txn.lockKeys([k('a1')], { resourceGroupTag: k('call-tag') });
    await txn.lockKeys([k('a2')]);
    txn.put(k('a1'), 'v');
    await txn.commit();
    expect(locks().map((s) => [s.keys, s.tag])).toEqual([
      [['a1'], 'call-tag'],
      [['a2'], 'txn-tag'],
    ]);
    // Prewrite and commit keep the transaction's tag.
    const writes = sent.filter((s) => s.command === 'Prewrite' || s.command === 'Commit');
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) expect(s.tag).toBe('txn-tag');
  });

  test("a call's tagger sees each lock request (one per region) and replaces the transaction's tagger", async () => {
    const seen: string[][] = [];
    const txn = await client.begin({
      pessimistic: true,
      resourceGroupTagger: ({ command }) => k(`txn:${command}`),
    });
    await txn.lockKeys([k('b'), k('n')], {
      resourceGroupTagger: (req) => {
        seen.push(req.mutations.map((m) => text(m.key)));
        expect(req.startVersion).toBe(txn.startTs);
        return k(`call:${req.mutations.map((m) => text(m.key)).join(',')}`);
      },
    });
    expect(seen.sort()).toEqual([['b'], ['n']]);
    expect(
      locks()
        .map((s) => [s.keys, s.tag])
        .sort(),
    ).toEqual([
      [['b'], 'call:b'],
      [['n'], 'call:n'],
    ]);
    // A tagger answering undefined sends no tag, not the transaction's.
    sent = [];
    await txn.lockKeys([k('c')], { resourceGroupTagger: () => undefined });
    expect(locks().map((s) => s.tag)).toEqual(['']);
    // Without call options the transaction's tagger tags the lock request again.
    sent = [];
    await txn.lockKeys([k('d')]);
    expect(locks().map((s) => s.tag)).toEqual(['txn:PessimisticLock']);
    await txn.rollback();
  });

  test("a call's tag wins over its tagger, which is then not called", async () => {
    const txn = await client.begin({ pessimistic: true });
    let called = 0;
    await txn.lockKeys([k('e')], {
      resourceGroupTag: k('fixed'),
      resourceGroupTagger: () => {
        called++;
        return k('computed');
      },
    });
    expect(called).toBe(0);
    expect(locks().map((s) => s.tag)).toEqual(['fixed']);
    await txn.rollback();
  });

  test('bad tag options fail typed before any request', async () => {
    const txn = await client.begin({ pessimistic: true });
    const bad = [{ resourceGroupTag: 'tag' }, { resourceGroupTagger: 'tagger' }] as unknown as Parameters<
      typeof txn.lockKeys
    >[1][];
    for (const o of bad)
      await expect(txn.lockKeys([k('f')], o)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(locks()).toEqual([]);
    await txn.rollback();
  });
});
