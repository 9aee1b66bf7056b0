// Ports of client-go's request-control tests: integration_tests/resource_tag_test.go
// (TestResourceGroupTag: a fixed tag, a tagger, both), resource_group_test.go
// (TestResourceGroupName) and 2pc_test.go's TestCommitOnTiKVDiskFullOpt. client-go wraps the
// store's RPC client to see what is sent; here an RPC interceptor of the client records it.
import { TransactionClient } from '@tikv/txn';
import { embeddedTest, startTxnEnv, type TxnEnv, txnModes } from './txn-env.js';

type ConnectOptions = Parameters<typeof TransactionClient.connect>[0];
type Interceptor = NonNullable<NonNullable<ConnectOptions['sender']>['interceptors']>[number];

/** What one request carried. */
interface Sent {
  readonly command: string;
  readonly resourceGroupTag: Uint8Array;
  readonly resourceGroupName: string;
  readonly diskFullOpt: number;
}

const enc = new TextEncoder();

describe.each(txnModes())('request control (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'request_control');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** A client whose every request is recorded in `sent` (client-go's mock RPC client). */
  async function recordingClient(sent: Sent[]): Promise<TransactionClient> {
    const recorder: Interceptor = {
      name: 'request-recorder',
      wrap: (next) => (address, request, options) => {
        const ctx = (
          request.value as { context?: Sent & { resourceControlContext?: { resourceGroupName: string } } }
        ).context;
        sent.push({
          command: request.$case,
          resourceGroupTag: ctx?.resourceGroupTag ?? new Uint8Array(0),
          resourceGroupName: ctx?.resourceControlContext?.resourceGroupName ?? '',
          diskFullOpt: ctx?.diskFullOpt ?? 0,
        });
        return next(address, request, options);
      },
    };
    return TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      sender: { interceptors: [recorder] },
    });
  }

  const tag1 = enc.encode('TEST-TAG-1');
  const tag2 = enc.encode('TEST-TAG-2');
  const tagger = () => tag2;

  /** The reads of resource_tag_test.go: a Get, a BatchGet, a Scan. */
  const reads = {
    Get: (txn: Awaited<ReturnType<TransactionClient['begin']>>) => txn.get(env.key('k')),
    BatchGet: (txn: Awaited<ReturnType<TransactionClient['begin']>>) => txn.batchGet([env.key('k')]),
    Scan: (txn: Awaited<ReturnType<TransactionClient['begin']>>) => txn.scan(env.key('abc'), env.key('def')),
  } as const;

  test.each([
    ['Get', 'a fixed tag', { resourceGroupTag: tag1 }, tag1],
    ['Get', 'a tagger', { resourceGroupTagger: tagger }, tag2],
    [
      'Get',
      'a fixed tag and a tagger: the tag wins',
      { resourceGroupTag: tag1, resourceGroupTagger: tagger },
      tag1,
    ],
    ['BatchGet', 'a fixed tag', { resourceGroupTag: tag1 }, tag1],
    ['BatchGet', 'a tagger', { resourceGroupTagger: tagger }, tag2],
    [
      'BatchGet',
      'a fixed tag and a tagger: the tag wins',
      { resourceGroupTag: tag1, resourceGroupTagger: tagger },
      tag1,
    ],
    ['Scan', 'a fixed tag', { resourceGroupTag: tag1 }, tag1],
    ['Scan', 'a tagger', { resourceGroupTagger: tagger }, tag2],
    [
      'Scan',
      'a fixed tag and a tagger: the tag wins',
      { resourceGroupTag: tag1, resourceGroupTagger: tagger },
      tag1,
    ],
  ] as const)('TestResourceGroupTag: %s with %s', async (command, _how, options, expected) => {
    const sent: Sent[] = [];
    const client = await recordingClient(sent);
    try {
      const txn = await client.begin(options);
      await reads[command](txn);
      const tagged = sent.filter((s) => s.resourceGroupTag.length > 0);
      expect(tagged.map((s) => [s.command, Buffer.from(s.resourceGroupTag).toString()])).toEqual([
        [command, Buffer.from(expected).toString()],
      ]);
      await txn.rollback();
    } finally {
      await client.close();
    }
  });

  test('a tagger tags the writes too: lock, prewrite, commit (client-go SetResourceGroupTagger)', async () => {
    const sent: Sent[] = [];
    const client = await recordingClient(sent);
    try {
      const seen: string[] = [];
      const txn = await client.begin({
        pessimistic: true,
        resourceGroupTagger: ({ command }) => {
          seen.push(command);
          return enc.encode(`tag:${command}`);
        },
      });
      await txn.lockKeys([env.key('w1')]);
      txn.put(env.key('w1'), 'v');
      await txn.commit();
      const writes = sent.filter((s) => ['PessimisticLock', 'Prewrite', 'Commit'].includes(s.command));
      expect(writes.map((s) => s.command)).toEqual(['PessimisticLock', 'Prewrite', 'Commit']);
      for (const s of writes) expect(Buffer.from(s.resourceGroupTag).toString()).toBe(`tag:${s.command}`);
      expect(seen).toEqual(['PessimisticLock', 'Prewrite', 'Commit']);
    } finally {
      await client.close();
    }
  });

  test.each(['Get', 'BatchGet', 'Scan'] as const)('TestResourceGroupName: %s', async (command) => {
    const sent: Sent[] = [];
    const client = await recordingClient(sent);
    try {
      const txn = await client.begin({ resourceGroupName: 'test' });
      await reads[command](txn);
      expect(sent.filter((s) => s.resourceGroupName === 'test').map((s) => s.command)).toEqual([command]);
      await txn.rollback();
    } finally {
      await client.close();
    }
  });

  embeddedTest(
    'TestCommitOnTiKVDiskFullOpt: only allowedOnAlmostFull writes on an almost full disk',
    async () => {
      const mock = env.target.mock;
      if (mock === undefined) throw new Error('embedded only');
      const sent: Sent[] = [];
      const client = await recordingClient(sent);
      const stores = mock.stores().map((s) => s.id);
      try {
        for (const id of stores) mock.setStoreDiskUsage(id, 'almostFull');
        const txn = await client.begin({ diskFullOpt: 'allowedOnAlmostFull' });
        txn.put(env.key('a'), 'a1');
        await txn.commit();
        const writes = sent.filter((s) => s.command === 'Prewrite' || s.command === 'Commit');
        expect(writes.map((s) => s.command)).toEqual(['Prewrite', 'Commit']);
        // kvrpcpb.DiskFullOpt.AllowedOnAlmostFull
        for (const s of writes) expect(s.diskFullOpt).toBe(1);

        const refused = await client.begin();
        refused.put(env.key('c'), 'c1');
        const error = await refused.commit({ timeoutMs: 1000 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        // TiKV answers DiskFull until the commit's deadline: the prewrite never got through.
        expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
        expect(sent.filter((s) => s.command === 'Prewrite').length).toBeGreaterThan(2);
      } finally {
        for (const id of stores) mock.setStoreDiskUsage(id, 'normal');
        await client.close();
      }
      const snapshot = await env.freshSnapshot();
      expect(Buffer.from((await snapshot.get(env.key('a'))) ?? []).toString()).toBe('a1');
      expect(await snapshot.get(env.key('c'))).toBeUndefined();
    },
  );
});
