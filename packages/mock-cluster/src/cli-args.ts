import { parseArgs } from 'node:util';
import type { MockClusterOptions } from './mock-cluster-options.js';

/** Usage text of the standalone process. */
export const USAGE = `Usage: tikv-mock-cluster [--pd-port 2379] [--stores 3] [--store-ports 20160,20161,20162]
                         [--regions 1] [--split-keys a,b] [--api-version V1|V2]
                         [--region-key-encoding raw|memcomparable]
                         [--keyspace NAME]... [--host 127.0.0.1]
                         [--action-on-invalid-max-ts error|log] [--max-ts-drift-ms 60000]
Serves an embedded PD + TiKV cluster until SIGINT/SIGTERM. Ports default to free ones (0).
--keyspace creates an enabled keyspace (repeat it for several); use it with --api-version V2.
--region-key-encoding memcomparable serves a V1 transactional client (default: raw in V1).
--action-on-invalid-max-ts: what a request whose timestamp PD has not issued yet gets (TiKV's
max-ts limit): error (a region error, the default) or log (served); --max-ts-drift-ms is the
allowance reads get past PD's newest timestamp.`;

/** The standalone process's name, as messages start. */
export const CLI_NAME = 'tikv-mock-cluster';

/** One line for a failure to start: the address in use, or the error's message. */
export function startFailureLine(e: unknown): string {
  const err = e as { code?: unknown; address?: unknown; port?: unknown; message?: unknown };
  if (err?.code === 'EADDRINUSE') {
    const where = typeof err.port === 'number' ? `${String(err.address)}:${err.port}` : 'a port';
    return `${CLI_NAME}: cannot listen on ${where}: the address is already in use (pick other ports with --pd-port / --store-ports, or 0 for free ones)`;
  }
  return `${CLI_NAME}: ${typeof err?.message === 'string' ? err.message : String(e)}`;
}

/** A command line the standalone process cannot run: the message says why; print the usage. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/**
 * Parses the standalone process's arguments into cluster options.
 *
 * @throws CliUsageError for an unknown flag or a bad value
 */
export function parseCliArgs(argv: readonly string[]): MockClusterOptions | 'help' {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return 'help';
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0) {
      throw new CliUsageError(`--${name} must be a non-negative integer, got '${v}'`);
    }
    return n;
  };
  const apiVersion = values['api-version'];
  if (apiVersion !== undefined && apiVersion !== 'V1' && apiVersion !== 'V2') {
    throw new CliUsageError(`--api-version must be V1 or V2, got '${apiVersion}'`);
  }
  const regionKeyEncoding = values['region-key-encoding'];
  if (
    regionKeyEncoding !== undefined &&
    regionKeyEncoding !== 'raw' &&
    regionKeyEncoding !== 'memcomparable'
  ) {
    throw new CliUsageError(`--region-key-encoding must be raw or memcomparable, got '${regionKeyEncoding}'`);
  }
  const action = values['action-on-invalid-max-ts'];
  if (action !== undefined && action !== 'error' && action !== 'log') {
    throw new CliUsageError(`--action-on-invalid-max-ts must be error or log, got '${action}'`);
  }
  const maxTsDriftMs = num('max-ts-drift-ms', values['max-ts-drift-ms']);
  const keyspaces = values.keyspace?.map((name) => {
    if (name === '') throw new CliUsageError('--keyspace needs a name');
    return { name };
  });
  return {
    pdPort: num('pd-port', values['pd-port']),
    stores: num('stores', values.stores),
    storePorts: values['store-ports']?.split(',').map((p) => num('store-ports', p) ?? 0),
    regions: num('regions', values.regions),
    splitKeys: values['split-keys']?.split(',').filter((k) => k.length > 0),
    apiVersion,
    host: values.host,
    unref: false,
    ...(keyspaces === undefined ? {} : { keyspaces }),
    ...(regionKeyEncoding === undefined ? {} : { regionKeyEncoding }),
    ...(action === undefined ? {} : { actionOnInvalidMaxTs: action }),
    ...(maxTsDriftMs === undefined ? {} : { maxTsDriftMs }),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      'pd-port': { type: 'string' },
      stores: { type: 'string' },
      'store-ports': { type: 'string' },
      regions: { type: 'string' },
      'split-keys': { type: 'string' },
      'api-version': { type: 'string' },
      'region-key-encoding': { type: 'string' },
      keyspace: { type: 'string', multiple: true },
      host: { type: 'string' },
      'action-on-invalid-max-ts': { type: 'string' },
      'max-ts-drift-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
