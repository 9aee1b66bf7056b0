import { InvalidArgumentError } from '@tikv/common';
import { MockCluster, type MockClusterOptions, RegionKeyEncoding } from '@tikv/mock-cluster';
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt } from '../cli-parsers.js';
import type { ActionFactory } from '../command-context.js';

interface MockFlags {
  readonly pdPort: number;
  readonly stores: number;
  readonly storePorts?: string;
  readonly regions: number;
  readonly splitKeys?: string;
  readonly regionKeyEncoding?: string;
  readonly host?: string;
}

function ports(list: string): number[] {
  return list.split(',').map((p) => {
    const n = Number(p);
    if (p.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) {
      throw new InvalidArgumentError(`--store-ports takes ports in [0, 65535], got '${p}'`);
    }
    return n;
  });
}

/**
 * Registers `tikv mock`: serves a standalone mock cluster (PD and TiKV stores over gRPC) until
 * SIGINT or SIGTERM, like `tikv-mock-cluster`.
 */
export function registerMockCommand(program: Command, action: ActionFactory): void {
  program
    .command('mock')
    .description(
      'serve a mock cluster (PD + TiKV stores) until interrupted; --api-version and --keyspace apply',
    )
    .option('--pd-port <port>', "PD's port (0: a free one)", nonNegativeInt, 0)
    .option('--stores <n>', 'number of stores', positiveInt, 3)
    .option('--store-ports <ports>', 'stores ports, comma separated (missing ones: free ports)')
    .option('--regions <n>', 'initial regions, split at evenly spaced one-byte keys', positiveInt, 1)
    .option('--split-keys <keys>', 'initial split keys, comma separated')
    .option(
      '--region-key-encoding <encoding>',
      'raw or memcomparable (default: raw in V1, memcomparable in V2)',
    )
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .action(
      action<MockFlags>(async (ctx, _args, opts) => {
        const enc = opts.regionKeyEncoding;
        if (enc !== undefined && enc !== RegionKeyEncoding.Raw && enc !== RegionKeyEncoding.Memcomparable) {
          throw new InvalidArgumentError(`--region-key-encoding must be raw or memcomparable, got '${enc}'`);
        }
        const o = ctx.options;
        const options: MockClusterOptions = {
          pdPort: opts.pdPort,
          stores: opts.stores,
          regions: opts.regions,
          apiVersion: o.apiVersion,
          unref: false,
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.storePorts === undefined ? {} : { storePorts: ports(opts.storePorts) }),
          ...(opts.splitKeys === undefined
            ? {}
            : { splitKeys: opts.splitKeys.split(',').filter((k) => k.length > 0) }),
          ...(enc === undefined ? {} : { regionKeyEncoding: enc }),
          ...(o.keyspace === undefined ? {} : { keyspaces: [{ name: o.keyspace }] }),
        };
        const cluster = await MockCluster.start(options);
        try {
          const stores = cluster.stores().map((s) => ({ id: s.id, address: s.address }));
          const keyspaces = cluster
            .keyspaces()
            .filter((k) => k.id !== 0)
            .map((k) => ({ name: k.name, id: k.id }));
          ctx.out.result(
            {
              pdEndpoints: [...cluster.pdEndpoints],
              stores,
              clusterId: cluster.clusterId,
              apiVersion: cluster.options.apiVersion,
              keyspaces,
            },
            () => [
              `pd: ${cluster.pdEndpoints.join(',')}`,
              ...stores.map((s) => `store ${s.id}: ${s.address}`),
              `cluster id: ${cluster.clusterId} api version: ${cluster.options.apiVersion}`,
              ...keyspaces.map((k) => `keyspace ${k.name}: id ${k.id}`),
            ],
          );
          const stop = ctx.io.stopSignal;
          if (!stop.aborted) {
            await new Promise<void>((resolve) =>
              stop.addEventListener('abort', () => resolve(), { once: true }),
            );
          }
          if (!ctx.options.json) ctx.io.stdout('shutting down\n');
        } finally {
          await cluster.close();
        }
      }),
    );
}
