import { createServer, type Server } from 'node:net';
import { CliUsageError, parseCliArgs, startFailureLine, USAGE } from './cli-args.js';
import { MockCluster } from './mock-cluster.js';

describe('parseCliArgs', () => {
  it('maps flags to options', () => {
    expect(
      parseCliArgs([
        '--',
        '--pd-port',
        '2379',
        '--stores',
        '3',
        '--api-version',
        'V2',
        '--split-keys',
        'a,b',
        '--store-ports',
        '1,2',
      ]),
    ).toEqual({
      pdPort: 2379,
      stores: 3,
      storePorts: [1, 2],
      regions: undefined,
      splitKeys: ['a', 'b'],
      apiVersion: 'V2',
      host: undefined,
      unref: false,
    });
    expect(parseCliArgs(['--help'])).toBe('help');
  });

  it('--region-key-encoding picks how PD shows region boundaries (memcomparable for a V1 txn client)', () => {
    expect(parseCliArgs(['--region-key-encoding', 'memcomparable'])).toMatchObject({
      regionKeyEncoding: 'memcomparable',
    });
    expect(parseCliArgs([])).not.toHaveProperty('regionKeyEncoding');
    expect(USAGE).toContain('--region-key-encoding raw|memcomparable');
  });

  it('--keyspace is repeatable and creates keyspaces as MockCluster.start does', async () => {
    const options = parseCliArgs(['--api-version', 'V2', '--keyspace', 'tenant_a', '--keyspace', 'tenant_b']);
    expect(options).toMatchObject({ keyspaces: [{ name: 'tenant_a' }, { name: 'tenant_b' }] });
    expect(USAGE).toContain('--keyspace NAME');
    if (options === 'help') throw new Error('unexpected help');
    const cluster = await MockCluster.start({
      ...options,
      pdPort: 0,
      storePorts: [],
      stores: 1,
      unref: true,
    });
    try {
      expect(cluster.keyspaces().map((k) => [k.name, k.state])).toEqual([
        ['DEFAULT', 'enabled'],
        ['tenant_a', 'enabled'],
        ['tenant_b', 'enabled'],
      ]);
    } finally {
      await cluster.close();
    }
  });

  it('--action-on-invalid-max-ts and --max-ts-drift-ms reach the cluster (TiKV max-ts limit)', async () => {
    const options = parseCliArgs(['--action-on-invalid-max-ts', 'log', '--max-ts-drift-ms', '5000']);
    expect(options).toMatchObject({ actionOnInvalidMaxTs: 'log', maxTsDriftMs: 5000 });
    expect(parseCliArgs([])).not.toHaveProperty('actionOnInvalidMaxTs');
    if (options === 'help') throw new Error('unreachable');
    const cluster = await MockCluster.start({ ...options, pdPort: 0, stores: 1, storePorts: undefined });
    try {
      expect(cluster.options.actionOnInvalidMaxTs).toBe('log');
      expect(cluster.options.maxTsDriftMs).toBe(5000);
    } finally {
      await cluster.close();
    }
    expect(() => parseCliArgs(['--action-on-invalid-max-ts', 'panic'])).toThrow(
      new CliUsageError("--action-on-invalid-max-ts must be error or log, got 'panic'"),
    );
    expect(() => parseCliArgs(['--max-ts-drift-ms', '-1'])).toThrow(CliUsageError);
  });

  it('rejects bad values with a usage error that names them', () => {
    expect(() => parseCliArgs(['--stores', 'x'])).toThrow(
      new CliUsageError("--stores must be a non-negative integer, got 'x'"),
    );
    expect(() => parseCliArgs(['--api-version', 'V3'])).toThrow(
      new CliUsageError("--api-version must be V1 or V2, got 'V3'"),
    );
    expect(() => parseCliArgs(['--keyspace', ''])).toThrow(new CliUsageError('--keyspace needs a name'));
    expect(() => parseCliArgs(['--region-key-encoding', 'hex'])).toThrow(
      new CliUsageError("--region-key-encoding must be raw or memcomparable, got 'hex'"),
    );
    expect(() => parseCliArgs(['--nope'])).toThrow(CliUsageError);
    expect(() => parseCliArgs(['--pd-port', ''])).toThrow(CliUsageError);
  });
});

describe('startFailureLine', () => {
  it('says which address is in use, in one line', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const e = await MockCluster.start({ stores: 1, pdPort: port }).then(
        () => undefined,
        (err: unknown) => err,
      );
      const line = startFailureLine(e);
      expect(line).toBe(
        `tikv-mock-cluster: cannot listen on 127.0.0.1:${port}: the address is already in use ` +
          '(pick other ports with --pd-port / --store-ports, or 0 for free ones)',
      );
      expect(line).not.toContain('\n');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('falls back to the message of other errors', () => {
    expect(startFailureLine(new Error('boom'))).toBe('tikv-mock-cluster: boom');
    expect(startFailureLine('plain')).toBe('tikv-mock-cluster: plain');
  });
});
