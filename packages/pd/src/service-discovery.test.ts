import { isTiKVError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { normalizeUrl, ServiceDiscovery } from './service-discovery.js';

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
  test('normalizeUrl adds the scheme (TestSchemeFunction)', () => {
    expect(normalizeUrl('127.0.0.1:2379', false)).toBe('http://127.0.0.1:2379');
    expect(normalizeUrl('127.0.0.1:2379', true)).toBe('https://127.0.0.1:2379');
    expect(normalizeUrl('http://127.0.0.1:2379/', true)).toBe('http://127.0.0.1:2379');
    expect(normalizeUrl(' https://a:1 ', false)).toBe('https://a:1');
  });

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

  test('init retries until an endpoint answers, then gives up', async () => {
    const pd = new FakeMembers();
    pd.down.add('http://pd-1');
    const d = new ServiceDiscovery(['http://pd-1'], pd.fetch, fast);
    const err: unknown = await d.init().catch((e: unknown) => e);
    expect(isTiKVError(err, 'RPC_ERROR')).toBe(true);
    expect(pd.calls).toHaveLength(3);
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
    pd.clusterId = 9n;
    await expect(d.checkMemberChanged()).rejects.toMatchObject({ code: 'RPC_ERROR', retryable: true });
    pd.clusterId = 42n;
    pd.leaderId = 99;
    await expect(d.checkMemberChanged()).rejects.toMatchObject({ code: 'RPC_ERROR' });
    pd.leaderId = 1;
    pd.headerError = pdpb.Error.fromPartial({ type: pdpb.ErrorType.UNKNOWN, message: 'boom' });
    await expect(d.checkMemberChanged()).rejects.toMatchObject({ code: 'RPC_ERROR' });
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
