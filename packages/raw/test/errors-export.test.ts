// What a user of @tikv/raw alone gets to handle errors (issue 10, "What a consumer of one package
// gets"): every class a raw call can reject with, and isTiKVError, which works across the ESM
// and CommonJS copies of the dual package where `instanceof` cannot.
import { spawnSync } from 'node:child_process';
import * as common from '@tikv/common';
import * as keyspace from '@tikv/keyspace';
import * as rpc from '@tikv/rpc';
import * as raw from '../src/index.js';

test('re-exports TiKVError, every error class a raw call rejects with, and the checks', () => {
  const fromCommon = [
    'TiKVError',
    'ApiVersionMismatchError',
    'BackoffBudgetExceededError',
    'ClientClosedError',
    'CodecError',
    'DeadlineExceededError',
    'EntryTooLargeError',
    'InvalidArgumentError',
    'KeyError',
    'KeyTooLargeError',
    'MaxScanLimitExceededError',
    'PdError',
    'RegionError',
    'isTiKVError',
    'isRetryableError',
    'ErrorCode',
  ] as const;
  const rawExports: Record<string, unknown> = { ...raw };
  const commonExports: Record<string, unknown> = { ...common };
  for (const name of fromCommon) expect(rawExports[name]).toBe(commonExports[name]);
  expect(raw.KeyspaceError).toBe(keyspace.KeyspaceError);
  expect(raw.KeyOutOfKeyspaceError).toBe(keyspace.KeyOutOfKeyspaceError);
  expect(raw.RpcError).toBe(rpc.RpcError);
  // Every class is a TiKVError; each code is in the closed set.
  expect(new raw.InvalidArgumentError('x')).toBeInstanceOf(raw.TiKVError);
  expect(new raw.RpcError('x', { address: 'a:1', requestSent: false })).toBeInstanceOf(raw.TiKVError);
  expect(raw.ErrorCode.API_VERSION_MISMATCH).toBe('API_VERSION_MISMATCH');
});

test('isTiKVError from the ESM build recognises an error made by the CommonJS build (child node)', () => {
  // Plain Node, not jest: jest loads only the CommonJS build. Both copies of @tikv/common are
  // the ones raw resolves (its dependency, built before raw's tests run).
  const script = `
    import { createRequire } from 'node:module';
    const esm = await import('@tikv/common');
    const cjs = createRequire(process.cwd() + '/')('@tikv/common');
    if (esm.TiKVError === cjs.TiKVError) throw new Error('expected two copies of the classes');
    const fromCjs = new cjs.InvalidArgumentError('from the CommonJS copy');
    const fromEsm = new esm.DeadlineExceededError();
    console.log(JSON.stringify({
      instanceofAcross: fromCjs instanceof esm.TiKVError,
      esmSeesCjs: esm.isTiKVError(fromCjs),
      esmSeesCjsCode: esm.isTiKVError(fromCjs, 'INVALID_ARGUMENT'),
      esmRejectsOtherCode: esm.isTiKVError(fromCjs, 'INTERNAL'),
      cjsSeesEsm: cjs.isTiKVError(fromEsm, 'DEADLINE_EXCEEDED'),
      plainError: esm.isTiKVError(Object.assign(new Error('x'), { code: 'INTERNAL' })),
    }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: `${__dirname}/..`,
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    instanceofAcross: false,
    esmSeesCjs: true,
    esmSeesCjsCode: true,
    esmRejectsOtherCode: false,
    cjsSeesEsm: true,
    plainError: false,
  });
});
