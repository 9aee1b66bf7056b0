// A bank-transfer invariant test: N accounts with a known total; concurrent transfers through
// `client.run` (2PC, async commit and 1PC mixed) for a bounded time (`TIKV_E2E_BANK_MS`, default
// 30000), while readers take snapshots of every account at fresh timestamps and, on the embedded
// cluster only, a chaos loop splits and merges regions, moves leaders, stops and restarts stores
// and injects region errors and lost commit responses.
//
// Checked: every snapshot sums to the total; every transfer writes a ledger entry in its own
// transaction, so at the end the ledger must hold exactly the transfers `run` reported committed
// (plus any whose commit was undetermined, never one that failed), and replaying it over the
// opening balances must give exactly the final balances.
import { isTiKVError, UndeterminedError } from '@tikv/common';
import type { MockCluster } from '@tikv/mock-cluster';
import type { Transaction } from '@tikv/txn';
import { startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

const durationMs = Number(process.env.TIKV_E2E_BANK_MS ?? '30000');
const accounts = 20;
const opening = 1000;
const total = accounts * opening;
const transferWorkers = 6;
const readWorkers = 2;

/** A transfer, as recorded in the ledger. */
interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly amount: number;
}

/** What happened, counted. */
interface Tally {
  committed: Map<number, Transfer>;
  undetermined: Map<number, Transfer>;
  failed: Map<number, Transfer>;
  declined: number;
  failures: Map<string, number>;
  reads: number;
  readErrors: Map<string, number>;
  badSums: number[];
  chaos: Map<string, number>;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const errorName = (e: unknown) => (isTiKVError(e) ? e.code : e instanceof Error ? e.name : String(e));
const randInt = (n: number) => Math.floor(Math.random() * n);

/** Resolves after `ms` (pacing the chaos loop; never used to wait for an outcome). */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.each(txnModes())('bank transfers keep the total (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'bank');
  });
  afterAll(async () => {
    await env?.close();
  });

  const acct = (i: number) => env.key(`acct/${String(i).padStart(2, '0')}`);
  const ledgerKey = (id: number) => env.key(`ledger/${String(id).padStart(8, '0')}`);
  const acctKeys = () => Array.from({ length: accounts }, (_, i) => acct(i));

  async function balances(read: (keys: Uint8Array[]) => Promise<(Uint8Array | undefined)[]>) {
    return (await read(acctKeys())).map((v) => Number(text(v)));
  }

  /** One transfer through `run`; its outcome goes to the tally. */
  async function transfer(id: number, tally: Tally): Promise<void> {
    const from = randInt(accounts);
    const to = (from + 1 + randInt(accounts - 1)) % accounts;
    const t: Transfer = { from, to, amount: 1 + randInt(50) };
    const protocol = randInt(3);
    const body = async (txn: Transaction): Promise<boolean> => {
      const [a, b] = (await txn.batchGet([acct(from), acct(to)])).map((v) => Number(text(v)));
      if ((a as number) < t.amount) return false;
      txn.put(acct(from), String((a as number) - t.amount));
      txn.put(acct(to), String((b as number) + t.amount));
      txn.put(ledgerKey(id), `${from},${to},${t.amount}`);
      return true;
    };
    try {
      const moved = await env.client.run(body, {
        maxAttempts: 50,
        timeoutMs: 30_000,
        ...(protocol === 1
          ? { asyncCommit: true }
          : protocol === 2
            ? { asyncCommit: true, onePc: true }
            : {}),
      });
      if (moved) tally.committed.set(id, t);
      else tally.declined++;
    } catch (e) {
      bump(tally.failures, errorName(e));
      if (e instanceof UndeterminedError) tally.undetermined.set(id, t);
      else tally.failed.set(id, t);
    }
  }

  /** Snapshots of every account at fresh timestamps, by batch read or by scan. */
  async function readLoop(stop: () => boolean, tally: Tally): Promise<void> {
    for (let i = 0; !stop(); i++) {
      try {
        const snap = await env.freshSnapshot();
        const values =
          i % 2 === 0
            ? await balances((keys) => snap.batchGet(keys))
            : (await snap.scan(acct(0), env.key('acct0'))).map((p) => Number(text(p.value)));
        const sum = values.reduce((x, y) => x + y, 0);
        if (values.length !== accounts || sum !== total) tally.badSums.push(sum);
        tally.reads++;
      } catch (e) {
        bump(tally.readErrors, errorName(e));
      }
    }
  }

  /** Topology changes and faults, one at a time, each awaited; paced by a timer. */
  async function chaosLoop(mock: MockCluster, stop: () => boolean, tally: Tally): Promise<void> {
    const methods = [
      'KvPrewrite',
      'KvCommit',
      'KvGet',
      'KvBatchGet',
      'KvScan',
      'KvCheckTxnStatus',
      'KvResolveLock',
    ];
    const kinds = ['NotLeader', 'EpochNotMatch', 'ServerIsBusy', 'StaleCommand', 'RegionNotFound'] as const;
    while (!stop()) {
      await pause(50 + randInt(150));
      const step = randInt(6);
      try {
        if (step === 0) {
          mock.split([env.storageKey(acct(1 + randInt(accounts - 1)))]);
          bump(tally.chaos, 'split');
        } else if (step === 1) {
          const regions = mock.regions();
          const i = randInt(Math.max(1, regions.length - 1));
          const [left, right] = [regions[i], regions[i + 1]];
          if (left !== undefined && right !== undefined) {
            mock.merge(left.id, right.id);
            bump(tally.chaos, 'merge');
          }
        } else if (step === 2) {
          const regions = mock.regions();
          const r = regions[randInt(regions.length)];
          const peer = r?.peers.filter((p) => p.storeId !== r.leader.storeId)[0];
          if (r !== undefined && peer !== undefined) {
            mock.transferLeader(r.id, peer.storeId);
            bump(tally.chaos, 'transferLeader');
          }
        } else if (step === 3) {
          const stores = mock.stores();
          const victim = stores[randInt(stores.length)]?.id as bigint;
          await mock.stopStore(victim);
          // Raft elects new leaders among the peers still up.
          for (const r of mock.regions()) {
            if (r.leader.storeId !== victim) continue;
            const peer = r.peers.find((p) => p.storeId !== victim);
            if (peer !== undefined) mock.transferLeader(r.id, peer.storeId);
          }
          await pause(200 + randInt(300));
          await mock.startStore(victim);
          bump(tally.chaos, 'stopStore');
        } else if (step === 4) {
          mock.inject({
            method: methods[randInt(methods.length)] as string,
            times: 1 + randInt(3),
            error: kinds[randInt(kinds.length)] as (typeof kinds)[number],
          });
          bump(tally.chaos, 'regionError');
        } else {
          // A commit whose response is lost: the writer cannot know whether it committed.
          mock.inject({
            method: 'KvCommit',
            times: 1,
            error: { grpcStatus: 14, message: 'injected: connection lost' },
          });
          bump(tally.chaos, 'lostCommit');
        }
      } catch (e) {
        bump(tally.chaos, `refused:${errorName(e)}`);
      }
    }
    mock.clearFaults();
    for (const s of mock.stores()) if (!s.running) await mock.startStore(s.id);
  }

  test(
    `concurrent transfers for ${durationMs} ms: every snapshot sums to the total, the ledger explains every balance`,
    async () => {
      await env.client.run(async (txn) => {
        for (const k of acctKeys()) txn.put(k, String(opening));
      });
      const tally: Tally = {
        committed: new Map(),
        undetermined: new Map(),
        failed: new Map(),
        declined: 0,
        failures: new Map(),
        reads: 0,
        readErrors: new Map(),
        badSums: [],
        chaos: new Map(),
      };
      const deadline = Date.now() + durationMs;
      const stop = () => Date.now() >= deadline;
      let nextId = 0;
      const workers = Array.from({ length: transferWorkers }, async () => {
        while (!stop()) await transfer(nextId++, tally);
      });
      const readers = Array.from({ length: readWorkers }, () => readLoop(stop, tally));
      const mock = env.target.mock;
      const chaos = mock === undefined ? Promise.resolve() : chaosLoop(mock, stop, tally);
      await Promise.all([...workers, ...readers, chaos]);

      // Final state, at a fresh timestamp (resolving whatever undetermined commits left behind).
      const snap = await env.freshSnapshot();
      const final = await balances((keys) => snap.batchGet(keys));
      const ledger = await snap.scan(env.key('ledger/'), env.key('ledger0'));
      const summary = {
        mode: mode.apiVersion + (mode.keyspace === '' ? '' : `/${mode.keyspace}`),
        durationMs,
        committed: tally.committed.size,
        declined: tally.declined,
        undetermined: tally.undetermined.size,
        failed: tally.failed.size,
        failures: Object.fromEntries(tally.failures),
        reads: tally.reads,
        readErrors: Object.fromEntries(tally.readErrors),
        chaos: Object.fromEntries(tally.chaos),
        ledger: ledger.length,
      };
      process.stdout.write(`bank: ${JSON.stringify(summary)}\n`);

      expect(tally.badSums).toEqual([]);
      expect(final.reduce((x, y) => x + y, 0)).toBe(total);
      expect(final.every((b) => b >= 0)).toBe(true);
      expect(tally.committed.size).toBeGreaterThan(0);
      expect(tally.reads).toBeGreaterThan(0);
      // No failure other than those the chaos can cause (conflicts past maxAttempts, undetermined
      // commits, budgets or deadlines while stores were down).
      for (const code of tally.failures.keys()) {
        expect([
          'UNDETERMINED',
          'WRITE_CONFLICT',
          'BACKOFF_EXCEEDED',
          'DEADLINE_EXCEEDED',
          'REGION_ERROR',
        ]).toContain(code);
      }

      // The ledger holds every committed transfer, no failed one, and nothing else.
      const inLedger = new Map<number, Transfer>();
      for (const p of ledger) {
        const id = Number(text(p.key)?.slice(-8));
        const [from, to, amount] = (text(p.value) ?? '').split(',').map(Number) as [number, number, number];
        inLedger.set(id, { from, to, amount });
      }
      for (const [id, t] of tally.committed) expect(inLedger.get(id)).toEqual(t);
      for (const id of tally.failed.keys()) expect(inLedger.has(id)).toBe(false);
      for (const id of inLedger.keys()) {
        expect(tally.committed.has(id) || tally.undetermined.has(id)).toBe(true);
      }
      // Replaying the ledger over the opening balances gives the final ones.
      const replay = new Array<number>(accounts).fill(opening);
      for (const t of inLedger.values()) {
        replay[t.from] = (replay[t.from] as number) - t.amount;
        replay[t.to] = (replay[t.to] as number) + t.amount;
      }
      expect(final).toEqual(replay);
    },
    durationMs + 120_000,
  );
});
