/**
 * `pnpm bench [suite...]`: runs the benchmark suites (all by default). Each suite prints its
 * figures next to a baseline measured in the same run, so ratios hold on a noisy machine.
 */
import { runCodecBench } from './codec-bench.js';
import { runMembufferBench } from './membuffer-bench.js';
import { runMockClusterBench } from './mock-cluster-bench.js';
import { runRawBench } from './raw-bench.js';
import { runRegionCacheBench } from './region-cache-bench.js';
import { runTransportBench } from './transport-bench.js';
import { runTsoBench } from './tso-bench.js';
import { runTxnCeilingBench } from './txn-ceiling-bench.js';

const suites: Record<string, () => unknown> = {
  codec: runCodecBench,
  membuffer: () => runMembufferBench(),
  'mock-cluster': () => runMockClusterBench(),
  'region-cache': () => runRegionCacheBench(),
  raw: () => runRawBench(),
  tso: () => runTsoBench(),
  transport: () => runTransportBench(),
  'txn-ceiling': () => runTxnCeilingBench(),
};

const USAGE = `Usage: pnpm bench [suite...]

Runs the benchmark suites (all of them when none is named), each printing its figures next to
a baseline measured in the same run. The mock cluster runs in a separate process.

Suites: ${Object.keys(suites).join(', ')}`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const wanted = args;
const unknown = wanted.filter((w) => !(w in suites));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  await suites[name]?.();
}
