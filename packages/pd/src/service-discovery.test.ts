import { isTiKVError, RpcError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { ServiceDiscovery } from './service-discovery.js';

// Ports the cases of PD's client/servicediscovery/service_discovery_test.go that apply
// (TestUpdateURLs, the scheme handling of TestServiceClientScheme/TestSchemeFunction) and
// the init / leader-following rules of serviceDiscovery.Init and updateMember.

function member(id: number, url: string): pdpb.Member {
  return pdpb.Member.fromPartial({ memberId: BigInt(id), name: `pd-${id}`, clientUrls: [url] });
}

/** A fake PD cluster answering GetMembers by URL. */
class FakeMembers {
  clusterId = 42n;
  members = [member(1, 'http://pd-1'), member(2, 'http://pd-2'), member(3, 'http://pd-3')];
  leaderId = 1;
  down = new Set<string>();
  calls: string[] = [];
  headerError: pdpb.Error | undefined;
  fetch = (url: string, signal: AbortSignal): Promise<pdpb.GetMembersResponse> => {
    this.calls.push(url);
    signal.throwIfAborted();
    if (this.down.has(url)) return Promise.reject(new Error(`${url} unreachable`));
    return Promise.resolve(
      pdpb.GetMembersResponse.fromPartial({
        header: { clusterId: this.clusterId, error: this.headerError },
        members: this.members,
        leader: this.members.find((m) => m.memberId === BigInt(this.leaderId)),
      }),
    );
  };
}

const fast = {
  initRetryIntervalMs: 1,
  maxInitRetries: 3,
  updateMemberBackoffBaseMs: 1,
  updateMemberMaxBackoffMs: 2,
};

describe('ServiceDiscovery', () => {
  test('init learns the cluster id, the leader and the member urls (TestUpdateURLs)', async () => {
    const pd = new FakeMembers();
    const d = new ServiceDiscovery(['http://pd-2'], pd.fetch, fast);
    const changed: Array<readonly string[]> = [];
    d.onMembersChange((u) => changed.push(u));
    await d.init();
    expect(d.clusterId).toBe(42n);
    expect(d.leaderUrl).toBe('http://pd-1');
    expect(d.urls).toEqual(['http://pd-1', 'http://pd-2', 'http://pd-3']);
    expect(d.followerUrls).toEqual(['http://pd-2', 'http://pd-3']);
    expect(changed).toHaveLength(1);
    // same membership again: no change event
    await d.checkMemberChanged();
    expect(changed).toHaveLength(1);
    pd.members = pd.members.slice(0, 2);
    await d.checkMemberChanged();
    expect(d.urls).toEqual(['http://pd-1', 'http://pd-2']);
    expect(changed).toHaveLength(2);
    await d.close();
  });

  test('follows the leader and skips unreachable members', async () => {
    const pd = new FakeMembers();
    const d = new ServiceDiscovery(['http://pd-1', 'http://pd-2', 'http://pd-3'], pd.fetch, fast);
    await d.init();
    const leaders: string[] = [];
    const off = d.onLeaderChange((u) => leaders.push(u));
    pd.leaderId = 3;
    pd.down.add('http://pd-1');
    await d.checkMemberChanged();
    expect(d.leaderUrl).toBe('http://pd-3');
    expect(leaders).toEqual(['http://pd-3']);
    off();
    pd.leaderId = 2;
    await d.checkMemberChanged();
    expect(leaders).toEqual(['http://pd-3']);
    await d.close();
  });

  test('scheduleCheckMemberChanged wakes the background loop', async () => {
    const pd = new FakeMembers();
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, fast);
    await d.init();
    const switched = new Promise<string>((r) => d.onLeaderChange(r));
    pd.leaderId = 2;
    d.scheduleCheckMemberChanged();
    d.scheduleCheckMemberChanged();
    expect(await switched).toBe('http://pd-2');
    await d.close();
    d.scheduleCheckMemberChanged();
    await expect(d.checkMemberChanged()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  test('init retries until an endpoint answers, then gives up with PD_UNREACHABLE', async () => {
    const pd = new FakeMembers();
    pd.down.add('http://pd-1');
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, fast);
    const err: unknown = await d.init().catch((e: unknown) => e);
    expect(isTiKVError(err, 'PD_UNREACHABLE')).toBe(true);
    expect(err).toMatchObject({ endpoints: ['http://pd-1'], retryable: true });
    expect((err as Error).message).toMatch(
      /^no PD reachable at http:\/\/pd-1 \(3 attempts in \d+ ms\); last error: /,
    );
    expect((err as Error).message).toContain('http://pd-1 unreachable');
    expect((err as Error).cause).toBeInstanceOf(RpcError);
    expect((err as Error).cause).toMatchObject({
      retryable: true,
      address: 'http://pd-1',
      command: 'GetMembers',
    });
    expect(pd.calls).toHaveLength(3);
    await d.close();
  });

  test('initTimeoutMs bounds init, whatever maxInitRetries allows', async () => {
    const pd = new FakeMembers();
    pd.down.add('http://pd-1');
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, {
      ...fast,
      maxInitRetries: 100,
      initRetryIntervalMs: 60_000,
      initTimeoutMs: 20,
    });
    const err: unknown = await d.init().catch((e: unknown) => e);
    expect(isTiKVError(err, 'PD_UNREACHABLE')).toBe(true);
    expect(pd.calls).toEqual(['http://pd-1']);
    expect((err as Error).cause).toMatchObject({
      message: expect.stringContaining('http://pd-1 unreachable'),
    });
    await d.close();
    expect(() => new ServiceDiscovery(['http://pd-1'], pd.fetch, { initTimeoutMs: 0 })).toThrow(
      /initTimeoutMs must be > 0/,
    );
  });

  test("the caller's timeoutMs ends init with DEADLINE_EXCEEDED caused by PD_UNREACHABLE", async () => {
    const pd = new FakeMembers();
    pd.down.add('http://pd-1');
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, {
      ...fast,
      maxInitRetries: 100,
      initRetryIntervalMs: 60_000,
    });
    const err: unknown = await d.init({ timeoutMs: 20 }).catch((e: unknown) => e);
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(err).toMatchObject({ timeoutMs: 20, message: 'connecting to PD: deadline of 20 ms exceeded' });
    const cause = (err as Error).cause;
    expect(isTiKVError(cause, 'PD_UNREACHABLE')).toBe(true);
    expect(cause).toMatchObject({ endpoints: ['http://pd-1'] });
    expect((cause as Error).cause).toMatchObject({
      message: expect.stringContaining('http://pd-1 unreachable'),
    });
    await d.close();
  });

  test('a member that never answers: each GetMembers is cut by timeoutMs and reported as such', async () => {
    const stalled = (_url: string, signal: AbortSignal): Promise<pdpb.GetMembersResponse> =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      );
    const d = new ServiceDiscovery(['http://pd-1'], stalled, { ...fast, maxInitRetries: 1, timeoutMs: 5 });
    const err: unknown = await d.init().catch((e: unknown) => e);
    expect(isTiKVError(err, 'PD_UNREACHABLE')).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(RpcError);
    expect((err as Error).cause).toMatchObject({
      retryable: true,
      address: 'http://pd-1',
      message: 'GetMembers http://pd-1: no answer within 5 ms',
    });
    await d.close();
  });

  test('endpoints of different clusters are refused', async () => {
    const a = new FakeMembers();
    const b = new FakeMembers();
    b.clusterId = 7n;
    const d = new ServiceDiscovery(
      ['http://a', 'http://b'],
      (url, s) => (url === 'http://a' ? a.fetch(url, s) : b.fetch(url, s)),
      fast,
    );
    await expect(d.init()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await d.close();
  });

  test('a member of another cluster, a header error or no leader is skipped', async () => {
    const pd = new FakeMembers();
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, fast);
    await d.init();
    // Each check fails for good on every endpoint; the reason of the last one is the cause.
    pd.clusterId = 9n;
    const mismatch = await d.checkMemberChanged().catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(RpcError);
    // The members learnt at init are all asked; the cause is the last one's answer.
    expect(mismatch).toMatchObject({ retryable: true, address: 'http://pd-1,http://pd-2,http://pd-3' });
    expect((mismatch as Error).cause).toBeInstanceOf(RpcError);
    expect((mismatch as Error).cause).toMatchObject({
      address: 'http://pd-3',
      message: 'http://pd-3: cluster id does not match: 9 != 42',
    });
    pd.clusterId = 42n;
    pd.leaderId = 99;
    const noLeader = await d.checkMemberChanged().catch((e: unknown) => e);
    expect(noLeader).toBeInstanceOf(RpcError);
    expect((noLeader as Error).cause).toMatchObject({
      address: 'http://pd-3',
      message: 'no PD leader known by http://pd-3',
    });
    pd.leaderId = 1;
    pd.headerError = pdpb.Error.fromPartial({ type: pdpb.ErrorType.UNKNOWN, message: 'boom' });
    await expect(d.checkMemberChanged()).rejects.toBeInstanceOf(RpcError);
    await d.close();
  });

  test('init honours the caller signal', async () => {
    const pd = new FakeMembers();
    pd.down.add('http://pd-1');
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, {
      ...fast,
      maxInitRetries: 100,
      initRetryIntervalMs: 10_000,
    });
    const ac = new AbortController();
    const p = d.init({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await d.close();
    expect(() => new ServiceDiscovery([], pd.fetch)).toThrow();
  });
});
