/**
 * Our side of `pnpm bench peer`: a process that connects `@tikv/raw`'s `RawClient` (and, for
 * txn operations, `@tikv/txn`'s `TransactionClient`) to the cluster, then measures what it is asked to (see `peer-protocol.ts`). CPU is this process's own
 * (`process.cpuUsage()`, user + system) over the measured window only.
 *
 * `node dist/peer-worker.js --pd host:port [--keys 4096] [--value-size 64]`
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { RawClient } from '@tikv/raw';
import { TransactionClient } from '@tikv/txn';
import { runConcurrent } from './harness.js';
import { PEER_OPS, type PeerOp, type PeerOpEnv, peerKeyOf } from './peer-ops.js';
import { answerLine, type PeerAnswer, type PeerCommand } from './peer-protocol.js';

const { values } = parseArgs({
  options: {
    pd: { type: 'string', default: '127.0.0.1:2379' },
    keys: { type: 'string', default: '4096' },
    'value-size': { type: 'string', default: '64' },
  },
});

const reply = (a: PeerAnswer): void => {
  process.stdout.write(answerLine(a));
};

let raw: Promise<RawClient> | undefined;
let connected: RawClient | undefined;
let txn: Promise<TransactionClient> | undefined;
let txnConnected: TransactionClient | undefined;
const env: PeerOpEnv = {
  pdEndpoint: values.pd,
  keys: Array.from({ length: Number(values.keys) }, (_, i) => peerKeyOf(i)),
  value: new Uint8Array(Number(values['value-size'])),
  rawClient() {
    raw ??= RawClient.connect({ pdEndpoints: values.pd.split(',') }).then((c) => {
      connected = c;
      return c;
    });
    return raw;
  },
  txnClient() {
    txn ??= TransactionClient.connect({ pdEndpoints: values.pd.split(',') }).then((c) => {
      txnConnected = c;
      return c;
    });
    return txn;
  },
};

const prepared = new Map<string, PeerOp>();

async function measure(c: PeerCommand): Promise<PeerAnswer> {
  let fn = prepared.get(c.op);
  if (fn === undefined) {
    const spec = PEER_OPS[c.op];
    if (spec === undefined) return { op: c.op, ops: 0, ms: 0, cpuUs: 0, error: `unknown op '${c.op}'` };
    fn = await spec.setup(env);
    prepared.set(c.op, fn);
  }
  const op = fn;
  let next = 0;
  const call = () => op(next++);
  await runConcurrent(c.concurrency, c.warmupMs, call);
  reply({ mark: true, ops: 0, ms: 0, cpuUs: 0 });
  const run = await runConcurrent(c.concurrency, c.durationMs, call);
  return {
    op: c.op,
    concurrency: c.concurrency,
    ops: run.ops,
    ms: run.ms,
    cpuUs: run.cpuUs,
  };
}

try {
  await env.rawClient();
  reply({ ready: true, ops: 0, ms: 0, cpuUs: 0 });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as PeerCommand;
    try {
      reply(await measure(c));
    } catch (e) {
      reply({ op: c.op, ops: 0, ms: 0, cpuUs: 0, error: e instanceof Error ? e.message : String(e) });
    }
  }
} catch (e) {
  reply({ ops: 0, ms: 0, cpuUs: 0, error: `connect: ${e instanceof Error ? e.message : String(e)}` });
  process.exitCode = 1;
} finally {
  await txnConnected?.close();
  await connected?.close();
}
