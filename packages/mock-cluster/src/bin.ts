#!/usr/bin/env node
import { CLI_NAME, CliUsageError, parseCliArgs, startFailureLine, USAGE } from './cli-args.js';
import { MockCluster } from './mock-cluster.js';
import type { MockClusterOptions } from './mock-cluster-options.js';

async function main(): Promise<void> {
  let parsed: MockClusterOptions | 'help';
  try {
    parsed = parseCliArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof CliUsageError)) throw e;
    console.error(`${CLI_NAME}: ${e.message}`);
    console.error(USAGE);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  let cluster: MockCluster;
  try {
    cluster = await MockCluster.start(parsed);
  } catch (e) {
    console.error(startFailureLine(e));
    process.exit(1);
  }
  console.log(`pd: ${cluster.pdEndpoints.join(',')}`);
  for (const s of cluster.stores()) console.log(`store ${s.id}: ${s.address}`);
  console.log(`cluster id: ${cluster.clusterId} api version: ${cluster.options.apiVersion}`);
  for (const k of cluster.keyspaces()) {
    if (k.id !== 0) console.log(`keyspace ${k.name}: id ${k.id}`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    cluster.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(startFailureLine(e));
  process.exit(1);
});
