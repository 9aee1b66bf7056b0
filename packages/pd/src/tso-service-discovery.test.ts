import { ManualClock, noopLogger, RpcError } from '@tikv/common';
import { tsopb } from '@tikv/proto';
import { ClientError, Status } from 'nice-grpc';
import { type KeyspaceGroupFinder, TsoServiceDiscovery } from './tso-service-discovery.js';

const CLUSTER = 7n;
type Member = { address: string; isPrimary: boolean };

function answer(id: number, members: Member[], modRevision = 1n): tsopb.FindGroupByKeyspaceIDResponse {
  return tsopb.FindGroupByKeyspaceIDResponse.fromPartial({
    header: { clusterId: CLUSTER, keyspaceGroupId: id },
    keyspaceGroup: { id, members },
    modRevision,
  });
}

function setup(opts: {
  tsoUrls?: string[];
  find: (url: string, req: tsopb.FindGroupByKeyspaceIDRequest) => tsopb.FindGroupByKeyspaceIDResponse;
  legacy?: ConstructorParameters<typeof TsoServiceDiscovery>[0]['legacy'];
  random?: () => number;
}) {
  const asked: { url: string; req: tsopb.FindGroupByKeyspaceIDRequest }[] = [];
  const dropped: string[] = [];
  const findGroup: KeyspaceGroupFinder = async (url, req) => {
    asked.push({ url, req });
    return opts.find(url, req);
  };
  const d = new TsoServiceDiscovery(
    {
      clusterId: () => CLUSTER,
      keyspaceId: 5,
      tsoServerUrls: async () => opts.tsoUrls ?? ['http://t1:1', 'http://t2:2'],
      findGroup,
      dropConnection: (u) => dropped.push(u),
      legacy: opts.legacy,
      clock: new ManualClock({ autoAdvance: true }),
      random: opts.random ?? (() => 0),
      logger: noopLogger,
    },
    { maxUpdateRetries: 3, updateRetryIntervalMs: 10 },
  );
  return { d, asked, dropped };
}

describe('TsoServiceDiscovery (PD tsoServiceDiscovery)', () => {
  const discoveries: TsoServiceDiscovery[] = [];
  afterEach(async () => {
    for (const d of discoveries.splice(0)) await d.close();
  });
  const track = <T extends { d: TsoServiceDiscovery }>(s: T): T => {
    discoveries.push(s.d);
    return s;
  };

  test('asks a TSO server for the keyspace group with the header PD sets, and takes the primary', async () => {
    const { d, asked } = track(
      setup({
        find: () =>
          answer(
            3,
            [
              { address: 'http://t2:2', isPrimary: true },
              { address: 'http://t1:1', isPrimary: false },
            ],
            4n,
          ),
      }),
    );
    const switched: string[] = [];
    d.onPrimaryChange((u) => switched.push(u));
    await d.checkMemberChanged();
    expect(d.keyspaceGroupId).toBe(3);
    expect(d.primaryUrl).toBe('http://t2:2');
    expect(d.serving.secondaryUrls).toEqual(['http://t1:1']);
    expect(switched).toEqual(['http://t2:2']);
    expect(d.keyspaceId).toBe(5);
    expect(d.tsoServerUrls).toEqual(['http://t1:1', 'http://t2:2']);
    const req = asked[0]?.req;
    expect(asked[0]?.url).toBe('http://t1:1');
    expect(req?.header).toEqual(
      expect.objectContaining({
        clusterId: CLUSTER,
        keyspace: { $case: 'keyspaceId', value: 5 },
        keyspaceGroupId: 0,
        calleeId: 't1:1',
      }),
    );
    expect(req?.keyspace).toEqual({ $case: 'keyspaceId', value: 5 });
    expect(req?.modRevision).toBe(0n);
    // The next refresh goes to the next server (round robin) and sends the revision held.
    await d.checkMemberChanged();
    expect(asked[1]?.url).toBe('http://t2:2');
    expect(asked[1]?.req.modRevision).toBe(4n);
  });

  test('a server that is no member knows no primary: a member is asked (errNoPrimaryURL)', async () => {
    const members = [
      { address: 'http://m1:1', isPrimary: false },
      { address: 'http://m2:2', isPrimary: false },
    ];
    const { d, asked } = track(
      setup({
        tsoUrls: ['http://other:9'],
        random: () => 0.9,
        find: (url) =>
          url === 'http://other:9'
            ? answer(2, members)
            : answer(
                2,
                members.map((m) => ({ ...m, isPrimary: m.address === url })),
              ),
      }),
    );
    await d.checkMemberChanged();
    expect(asked.map((a) => a.url)).toEqual(['http://other:9', 'http://m2:2']);
    expect(d.primaryUrl).toBe('http://m2:2');
  });

  test('header errors, missing groups and stale revisions are retried, then fail; a callee mismatch drops the connection', async () => {
    let n = 0;
    const { d, dropped } = track(
      setup({
        find: () => {
          n++;
          if (n === 1)
            return tsopb.FindGroupByKeyspaceIDResponse.fromPartial({
              header: {
                clusterId: CLUSTER,
                error: {
                  type: tsopb.ErrorType.INVALID_VALUE,
                  message: 'mismatch callee id, need a but got b',
                },
              },
            });
          if (n === 2)
            return tsopb.FindGroupByKeyspaceIDResponse.fromPartial({ header: { clusterId: CLUSTER } });
          return answer(1, [{ address: 'http://t1:1', isPrimary: true }], 0n);
        },
      }),
    );
    await d.checkMemberChanged();
    expect(dropped).toEqual(['http://t1:1']);
    expect(d.primaryUrl).toBe('http://t1:1');
    expect(n).toBe(3);
  });

  test('an answer older than the revision held is refused', async () => {
    let rev = 5n;
    const { d } = track(setup({ find: () => answer(1, [{ address: 'http://t1:1', isPrimary: true }], rev) }));
    await d.checkMemberChanged();
    rev = 3n;
    await expect(d.checkMemberChanged()).rejects.toThrow('older than 5');
    expect(d.serving.modRevision).toBe(5n);
  });

  test('a transport failure becomes a retryable RpcError naming the server', async () => {
    const { d } = track(
      setup({
        find: () => {
          throw new ClientError('/tsopb.TSO/FindGroupByKeyspaceID', Status.UNAVAILABLE, 'down');
        },
      }),
    );
    const e = await d.checkMemberChanged().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).retryable).toBe(true);
    expect((e as RpcError).address).toMatch(/^http:\/\/t[12]/);
  });

  test('no TSO server named: the legacy path gives the default group, unless the fallback is refused', async () => {
    const primaryUrls = jest.fn(async () => ['http://legacy:1', 'http://legacy:2']);
    let allowed = true;
    const { d } = track(
      setup({
        tsoUrls: [],
        find: () => {
          throw new Error('not asked');
        },
        legacy: {
          checkFallbackAllowed: async () => {
            if (!allowed) throw new RpcError('refused', { address: '', requestSent: true, retryable: true });
          },
          primaryUrls,
        },
      }),
    );
    await d.checkMemberChanged();
    expect(d.primaryUrl).toBe('http://legacy:1');
    expect(d.keyspaceGroupId).toBe(0);
    allowed = false;
    await expect(d.checkMemberChanged()).rejects.toThrow('refused');
    const { d: noLegacy } = track(setup({ tsoUrls: [], find: () => answer(0, []) }));
    await expect(noLegacy.checkMemberChanged()).rejects.toThrow('PD names no TSO server');
  });

  test('concurrent checks share one refresh; a scheduled one runs in the background; close rejects later checks', async () => {
    let asked = 0;
    let onAsk: (() => void) | undefined;
    const { d } = track(
      setup({
        find: () => {
          asked++;
          onAsk?.();
          return answer(1, [{ address: 'http://t1:1', isPrimary: true }]);
        },
      }),
    );
    await Promise.all([d.checkMemberChanged(), d.checkMemberChanged()]);
    expect(asked).toBe(1);
    const background = new Promise<void>((resolve) => {
      onAsk = resolve;
    });
    d.scheduleCheckMemberChanged();
    await background;
    expect(asked).toBe(2);
    await d.close();
    await expect(d.checkMemberChanged()).rejects.toThrow('closed');
    d.scheduleCheckMemberChanged();
  });
});
