// Port of client-go integration_tests/isolation_test.go: concurrent transactions on one key keep
// snapshot isolation. Writers retry their conflicts until they commit; the [startTs, commitTs]
// windows of the committed writes never overlap, and every read sees the value of the last write
// committed before its start ts. Concurrency here is interleaved async work on one event loop,
// which still puts many transactions in flight at once against the cluster.
import { isRetryableTxnError } from '@tikv/txn';
import { SLOW_TEST_MS, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

interface WriteRecord {
  startTs: bigint;
  commitTs: bigint;
}
interface ReadRecord {
  startTs: bigint;
  value: string | undefined;
}

const byStartTs = (a: { startTs: bigint }, b: { startTs: bigint }) =>
  a.startTs < b.startTs ? -1 : a.startTs > b.startTs ? 1 : 0;

describe.each(txnModes())('isolation_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'isolation');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** client-go `SetWithRetry`: a transaction per attempt until one commits. */
  async function setWithRetry(key: Uint8Array, value: string): Promise<WriteRecord> {
    for (;;) {
      const txn = await env.client.begin();
      txn.put(key, value);
      try {
        const commitTs = await txn.commit();
        return { startTs: txn.startTs, commitTs };
      } catch (e) {
        if (!isRetryableTxnError(e)) throw e;
      }
    }
  }

  /** client-go `GetWithRetry`. */
  async function getWithRetry(key: Uint8Array): Promise<ReadRecord> {
    for (;;) {
      const txn = await env.client.begin();
      try {
        const value = text(await txn.get(key));
        return { startTs: txn.startTs, value };
      } catch (e) {
        if (!isRetryableTxnError(e)) throw e;
      } finally {
        await txn.rollback();
      }
    }
  }

  test(
    'TestWriteWriteConflict',
    async () => {
      const threadCount = 8;
      const setPerThread = 10;
      const key = env.key('ww');
      const writes: WriteRecord[] = [];
      await Promise.all(
        Array.from({ length: threadCount }, async () => {
          for (let j = 0; j < setPerThread; j++) writes.push(await setWithRetry(key, 'v'));
        }),
      );
      expect(writes).toHaveLength(threadCount * setPerThread);
      writes.sort(byStartTs);
      // No two committed transactions on one key overlap: each starts after the previous commit.
      for (let i = 0; i < writes.length - 1; i++) {
        expect(writes[i]?.commitTs).toBeLessThan(writes[i + 1]?.startTs as bigint);
      }
    },
    SLOW_TEST_MS,
  );

  test('TestReadWriteConflict', async () => {
    const readThreadCount = 10;
    const writeCount = 10;
    const key = env.key('rw');
    await setWithRetry(key, '0');
    const writes: WriteRecord[] = [];
    const reads: ReadRecord[] = [];
    let writeDone = false;
    const writer = (async () => {
      try {
        for (let i = 1; i <= writeCount; i++) writes.push(await setWithRetry(key, String(i)));
      } finally {
        writeDone = true;
      }
    })();
    const readers = Array.from({ length: readThreadCount }, async () => {
      while (!writeDone) reads.push(await getWithRetry(key));
    });
    await Promise.all([writer, ...readers]);
    expect(reads.length).toBeGreaterThan(0);
    reads.sort(byStartTs);
    // Every read sees the value of the last write committed before its start ts.
    let j = 0;
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i] as WriteRecord;
      for (; j < reads.length; j++) {
        const r = reads[j] as ReadRecord;
        if (r.startTs >= w.commitTs) break;
        expect(r.value).toBe(String(i));
      }
    }
    for (; j < reads.length; j++) expect(reads[j]?.value).toBe(String(writes.length));
  });
});
