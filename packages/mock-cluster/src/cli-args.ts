import { parseArgs } from 'node:util';
import type { MockClusterOptions } from './mock-cluster-options.js';

/** Usage text of the standalone process. */
export const USAGE = `Usage: tikv-mock-cluster [--pd-port 2379] [--stores 3] [--store-ports 20160,20161,20162]
                         [--regions 1] [--split-keys a,b] [--api-version V1|V2] [--host 127.0.0.1]
Serves an embedded PD + TiKV cluster until SIGINT/SIGTERM.`;

/** Parses the standalone process's arguments into cluster options. */
export function parseCliArgs(argv: readonly string[]): MockClusterOptions | 'help' {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      'pd-port': { type: 'string' },
      stores: { type: 'string' },
      'store-ports': { type: 'string' },
      regions: { type: 'string' },
      'split-keys': { type: 'string' },
      'api-version': { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`--${name} must be a non-negative integer`);
    return n;
  };
  const apiVersion = values['api-version'];
  if (apiVersion !== undefined && apiVersion !== 'V1' && apiVersion !== 'V2') {
    throw new RangeError('--api-version must be V1 or V2');
  }
  return {
    pdPort: num('pd-port', values['pd-port']),
    stores: num('stores', values.stores),
    storePorts: values['store-ports']?.split(',').map((p) => num('store-ports', p) ?? 0),
    regions: num('regions', values.regions),
    splitKeys: values['split-keys']?.split(',').filter((k) => k.length > 0),
    apiVersion,
    host: values.host,
    unref: false,
  };
}
