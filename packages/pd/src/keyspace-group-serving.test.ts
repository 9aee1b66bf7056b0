import { KeyspaceGroupServing } from './keyspace-group-serving.js';

// Ports of PD's client/servicediscovery/tso_service_discovery_test.go.
describe('KeyspaceGroupServing (PD keyspaceGroupSvcDiscovery)', () => {
  const group = (id: number) => ({ id, members: [] });

  function held(): KeyspaceGroupServing {
    const k = new KeyspaceGroupServing();
    k.update(
      group(1),
      'http://primary-1',
      ['http://secondary-1'],
      ['http://primary-1', 'http://secondary-1'],
      10n,
    );
    return k;
  }

  test('TestKeyspaceGroupSvcDiscoveryUpdateKeepsPrimary: an answer of an older mod revision changes nothing', () => {
    const k = held();
    const before = k.group;
    const r = k.update(
      group(2),
      'http://primary-2',
      ['http://secondary-2'],
      ['http://primary-2', 'http://secondary-2'],
      9n,
    );
    expect(r).toEqual({ oldPrimaryUrl: '', primarySwitched: false, metaChanged: false });
    expect(k.primaryUrl).toBe('http://primary-1');
    expect(k.secondaryUrls).toEqual(['http://secondary-1']);
    expect(k.urls).toEqual(['http://primary-1', 'http://secondary-1']);
    expect(k.group).toBe(before);
    expect(k.modRevision).toBe(10n);
  });

  test('TestKeyspaceGroupSvcDiscoveryUpdateUpdatesAllFieldsOnFreshRevision: a newer answer replaces everything', () => {
    const k = held();
    const g2 = group(2);
    const r = k.update(
      g2,
      'http://primary-2',
      ['http://secondary-2'],
      ['http://primary-2', 'http://secondary-2'],
      11n,
    );
    expect(r).toEqual({ oldPrimaryUrl: 'http://primary-1', primarySwitched: true, metaChanged: true });
    expect(k.primaryUrl).toBe('http://primary-2');
    expect(k.secondaryUrls).toEqual(['http://secondary-2']);
    expect(k.urls).toEqual(['http://primary-2', 'http://secondary-2']);
    expect(k.group).toBe(g2);
    expect(k.groupId).toBe(2);
    expect(k.modRevision).toBe(11n);
  });

  test('an empty primary keeps the one held; the same primary (any case) is no switch', () => {
    const k = held();
    expect(k.update(group(1), '', ['http://a'], ['http://a'], 10n)).toEqual({
      oldPrimaryUrl: 'http://primary-1',
      primarySwitched: false,
      metaChanged: true,
    });
    expect(k.primaryUrl).toBe('http://primary-1');
    expect(k.secondaryUrls).toEqual(['http://a']);
    expect(k.update(group(1), 'HTTP://PRIMARY-1', [], [], 10n).primarySwitched).toBe(false);
  });

  test('before any answer: the default group, no primary', () => {
    const k = new KeyspaceGroupServing();
    expect(k.groupId).toBe(0);
    expect(k.group).toBeUndefined();
    expect(k.primaryUrl).toBe('');
    expect(k.modRevision).toBe(0n);
  });
});
