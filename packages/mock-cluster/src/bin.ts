#!/usr/bin/env node
import { parseCliArgs, USAGE } from './cli-args.js';
import { MockCluster } from './mock-cluster.js';

async function main(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const cluster = await MockCluster.start(parsed);
  console.log(`pd: ${cluster.pdEndpoints.join(',')}`);
  for (const s of cluster.stores()) console.log(`store ${s.id}: ${s.address}`);
  console.log(`cluster id: ${cluster.clusterId} api version: ${cluster.options.apiVersion}`);
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
  console.error(e instanceof Error ? e.message : e);
  console.error(USAGE);
  process.exit(1);
});
