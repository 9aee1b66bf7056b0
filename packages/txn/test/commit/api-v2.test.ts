// The committer in API V2: keys travel with the keyspace prefix (the codec adds it), secondaries
// and primary included.
import { concatBytes } from '@tikv/common';
import { keyspacePrefix } from '@tikv/mock-cluster';
import { CommitProtocol } from '../../src/index.js';
import { b, Harness, t } from './harness.js';

describe('API V2 keyspaces', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ apiV2: true });
  });
  afterAll(async () => {
    await h.close();
  });
  const wire = (key: string) => concatBytes(keyspacePrefix('txn', 0), b(key));

  test.each([
    ['2pc', {}, CommitProtocol.TWO_PC],
    ['async commit', { asyncCommit: true }, CommitProtocol.ASYNC_COMMIT],
    ['1pc', { onePc: true }, CommitProtocol.ONE_PC],
  ])('%s writes prefixed keys', async (name, options, protocol) => {
    h.cluster.split(wire(`${name}/m`));
    const result = await h.commit({ [`${name}/a`]: '1', [`${name}/z`]: '2' }, options);
    // 1PC needs one region: it falls back across the split.
    expect(result.protocol).toBe(protocol === CommitProtocol.ONE_PC ? CommitProtocol.TWO_PC : protocol);
    const now = await h.ts();
    expect(t(await h.inspector.get(wire(`${name}/a`), now))).toBe('1');
    expect(t(await h.inspector.get(wire(`${name}/z`), now))).toBe('2');
    expect(await h.locks()).toEqual([]);
    const one = await h.commit({ [`${name}/b`]: '3' }, options);
    expect(one.protocol).toBe(protocol);
    expect(t(await h.inspector.get(wire(`${name}/b`), one.commitTs))).toBe('3');
  });
});
