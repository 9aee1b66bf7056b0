import { request } from 'node:http';
import { isTiKVError } from '@tikv/common';
import { meta_storagepb, pdpb, tsopb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { PdClient } from '../src/pd-client.js';

// The PD client against PD's real TSO microservice (opt in): PD in its API service mode, a fake
// store that bootstrapped it and two TSO servers, as `node tools/real-cluster/real-tso-cluster.mjs
// start` runs them and prints:
//
//   TIKV_PD_TSO_REAL_ENDPOINTS=127.0.0.1:<pd> TIKV_PD_TSO_REAL_SERVERS=<url>=<pid>,<url>=<pid> \
//     pnpm --filter @tikv/pd exec jest --coverage=false test/real-tso
//
// It checks what the mock's `tsoService` mode plays (answers, error texts, etcd keys), then moves
// keyspace ks1 to a new keyspace group (PD's split API) and stops the primary TSO server's process
// (SIGTERM, by the pid given): leave that cluster for nothing else.

const endpoints = (process.env.TIKV_PD_TSO_REAL_ENDPOINTS ?? '')
  .split(',')
  .map((e) => e.trim())
  .filter((e) => e !== '');
const servers = new Map(
  (process.env.TIKV_PD_TSO_REAL_SERVERS ?? '')
    .split(',')
    .filter((e) => e.includes('='))
    .map((e) => {
      const at = e.lastIndexOf('=');
      return [e.slice(0, at), Number(e.slice(at + 1))] as const;
    }),
);
const SKIP_MESSAGE =
  'set TIKV_PD_TSO_REAL_ENDPOINTS and TIKV_PD_TSO_REAL_SERVERS (tools/real-cluster/real-tso-cluster.mjs) to run the real TSO microservice suite';

/** One call of PD's HTTP API, on a connection of its own (closed after the answer). */
function http<T>(method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      `http://${endpoints[0]}${path}`,
      { method, agent: false, timeout: 10_000, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300)
            reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`));
          else resolve((text === '' ? undefined : JSON.parse(text)) as T);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Asks for timestamps until `done` holds (at most `max` calls), checking they only go up. */
async function timestampsUntil(
  client: PdClient,
  seen: bigint[],
  done: () => boolean,
  max = 2_000,
): Promise<void> {
  for (let i = 0; i < max && !done(); i++) {
    try {
      const ts = await client.getTimestamp();
      if (seen.length > 0) expect(ts).toBeGreaterThan(seen[seen.length - 1] as bigint);
      seen.push(ts);
    } catch (e) {
      // While the primary moves a call may run out of retries; it must say so retryably.
      expect(isTiKVError(e) && e.retryable).toBe(true);
    }
  }
  expect(done()).toBe(true);
}

if (endpoints.length === 0 || servers.size === 0) {
  test.skip(SKIP_MESSAGE, () => {});
} else {
  describe(`PdClient against PD's TSO microservice at ${endpoints.join(',')}`, () => {
    const channels: ReturnType<typeof createChannel>[] = [];
    const tso = (url: string) => {
      const ch = createChannel(url);
      channels.push(ch);
      return createClient(tsopb.TSODefinition, ch);
    };
    let clusterId: bigint;
    let ks1: number;

    beforeAll(async () => {
      const ch = createChannel(`http://${endpoints[0]}`);
      channels.push(ch);
      clusterId = (await createClient(pdpb.PDDefinition, ch).getMembers({})).header?.clusterId ?? 0n;
      ks1 = (await http<{ id: number }>('GET', '/pd/api/v2/keyspaces/ks1')).id;
    });
    afterAll(() => {
      for (const ch of channels) ch.close();
    });

    test('GetClusterInfo: API_SVC_MODE and the registered TSO servers', async () => {
      const ch = createChannel(`http://${endpoints[0]}`);
      channels.push(ch);
      const info = await createClient(pdpb.PDDefinition, ch).getClusterInfo({ header: { clusterId } });
      expect(info.header?.clusterId).toBe(clusterId);
      expect(info.serviceModes).toEqual([pdpb.ServiceMode.API_SVC_MODE]);
      expect([...info.tsoUrls].sort()).toEqual([...servers.keys()].sort());
    });

    test('a keyspace config names its keyspace group, as the mock writes it', async () => {
      const ks = await http<{ config?: Record<string, string> }>('GET', '/pd/api/v2/keyspaces/ks1');
      expect(ks.config).toEqual(
        expect.objectContaining({ region_bound_type: 'txn', tso_keyspace_group_id: '0', user_kind: 'basic' }),
      );
    });

    test("PD's etcd: the TSO servers' registry and the default group's primary, as the mock keeps them", async () => {
      const ch = createChannel(`http://${endpoints[0]}`);
      channels.push(ch);
      const meta = createClient(meta_storagepb.MetaStorageDefinition, ch);
      const enc = new TextEncoder();
      const prefix = `/ms/${clusterId}/tso/`;
      const resp = await meta.get({
        header: { clusterId },
        key: enc.encode(prefix),
        rangeEnd: enc.encode(`${prefix.slice(0, -1)}0`),
      });
      const kvs = new Map(resp.kvs.map((kv) => [new TextDecoder().decode(kv.key), kv.value]));
      for (const url of servers.keys()) {
        const registration = JSON.parse(new TextDecoder().decode(kvs.get(`${prefix}registry/${url}`)));
        expect(registration).toMatchObject({ 'service-addr': url });
      }
      const primary = tsopb.Participant.decode(kvs.get(`${prefix}00000/primary`) as Uint8Array);
      expect(servers.has(primary.listenUrls[0] as string)).toBe(true);
      expect(primary.listenUrls).toHaveLength(1);
      expect(primary.name).toBe(`${primary.listenUrls[0]}-00000`);
    });

    test('FindGroupByKeyspaceID and Tso: answers and refusals as the mock plays them', async () => {
      const keyspace = { $case: 'keyspaceId' as const, value: ks1 };
      const [a, b] = [...servers.keys()] as [string, string];
      const hostA = new URL(a).host;
      const found = await tso(a).findGroupByKeyspaceID({
        header: { clusterId, keyspace, calleeId: hostA },
        keyspace,
      });
      expect(found.header?.error).toBeUndefined();
      expect(found.header?.keyspaceGroupId).toBe(found.keyspaceGroup?.id);
      expect(found.keyspaceGroup?.userKind).toBe('basic');
      expect(found.modRevision).toBeGreaterThan(0n);
      const members = found.keyspaceGroup?.members ?? [];
      expect(members.map((m) => m.address).sort()).toEqual([a, b].sort());
      expect(members.filter((m) => m.isPrimary)).toHaveLength(1);
      const primary = members.find((m) => m.isPrimary)?.address as string;
      const other = primary === a ? b : a;

      // Header errors of FindGroupByKeyspaceID (answers, not gRPC errors).
      const refused = async (header: tsopb.DeepPartial<tsopb.RequestHeader>, modRevision = 0n) =>
        (await tso(a).findGroupByKeyspaceID({ header, keyspace, modRevision })).header;
      expect(await refused({ clusterId: clusterId + 1n, keyspaceGroupId: 0 })).toMatchObject({
        clusterId,
        keyspaceGroupId: 0,
        error: {
          type: tsopb.ErrorType.CLUSTER_MISMATCHED,
          message: `rpc error: code = FailedPrecondition desc = mismatch cluster id, need ${clusterId} but got ${clusterId + 1n}`,
        },
      });
      expect(await refused({ clusterId, calleeId: '127.0.0.1:1' })).toMatchObject({
        error: {
          type: tsopb.ErrorType.INVALID_VALUE,
          message: `mismatch callee id, need ${a} but got 127.0.0.1:1`,
        },
      });
      expect(await refused({ clusterId, keyspaceGroupId: 0 }, found.modRevision + 1_000_000n)).toMatchObject({
        error: {
          type: tsopb.ErrorType.INVALID_VALUE,
          message: '[PD:keyspace:ErrKeyspaceGroupModRevisionStale]keyspace group mod revision is stale',
        },
      });

      // Tso: the primary serves, naming the group; refusals end the stream with a gRPC status.
      const one = async (url: string, header: tsopb.DeepPartial<tsopb.RequestHeader>) => {
        async function* reqs() {
          yield tsopb.TsoRequest.fromPartial({ header, count: 2 });
        }
        for await (const r of tso(url).tso(reqs())) return r;
        throw new Error('no response');
      };
      const groupId = found.keyspaceGroup?.id ?? 0;
      const served = await one(primary, {
        clusterId,
        keyspace,
        keyspaceGroupId: groupId,
        calleeId: new URL(primary).host,
      });
      expect(served.header).toEqual({ clusterId, keyspaceGroupId: groupId });
      expect(served.count).toBe(2);
      expect(served.timestamp?.suffixBits).toBe(0);
      await expect(one(primary, { clusterId: clusterId + 1n, keyspace })).rejects.toMatchObject({
        code: 9, // FAILED_PRECONDITION
        details: `mismatch cluster id, need ${clusterId} but got ${clusterId + 1n}`,
      });
      await expect(one(primary, { clusterId, keyspace, calleeId: '127.0.0.1:1' })).rejects.toMatchObject({
        code: 9,
        details: `mismatch callee id, need ${primary} but got 127.0.0.1:1`,
      });
      await expect(one(primary, { clusterId, keyspace, keyspaceGroupId: 4096 })).rejects.toMatchObject({
        code: 2,
        details: "[PD:tso:ErrKeyspaceGroupIDInvalid]the keyspace group id is invalid, 4096 shouldn't >= 4096",
      });
      await expect(one(other, { clusterId, keyspace, keyspaceGroupId: groupId })).rejects.toMatchObject({
        code: 2, // UNKNOWN
        details: expect.stringContaining('is not leader'),
      });

      // GetMinTS: the secondary of every group answers a zero timestamp.
      const min = await tso(other).getMinTS({ header: { clusterId } });
      expect(min.header?.error).toBeUndefined();
      expect(min.keyspaceGroupsServing).toBe(0);
      expect(min.timestamp).toEqual({ physical: 0n, logical: 0n, suffixBits: 0 });
    });

    test('the service mode is detected and timestamps come from the keyspace group primary', async () => {
      for (const keyspaceId of [0, ks1]) {
        const client = await PdClient.connect({ endpoints, keyspaceId });
        try {
          expect(client.serviceMode).toBe('API');
          const seen: bigint[] = [];
          await timestampsUntil(client, seen, () => seen.length >= 50);
          const route = client.timestamps.tsoRoute;
          expect(route.serviceMode).toBe('API');
          expect(route.keyspaceId).toBe(keyspaceId);
          expect(servers.has(route.url)).toBe(true);
        } finally {
          await client.close();
        }
      }
    });

    test('monotonic across moving ks1 to a new keyspace group, then across a primary stop', async () => {
      const client = await PdClient.connect({ endpoints, keyspaceId: ks1 });
      const seen: bigint[] = [];
      try {
        await timestampsUntil(client, seen, () => seen.length >= 20);
        const from = client.timestamps.tsoRoute.keyspaceGroupId;
        const groups = await http<{ id: number; keyspaces?: number[] }[]>(
          'GET',
          '/pd/api/v2/tso/keyspace-groups',
        );
        const to = Math.max(...groups.map((g) => g.id)) + 1;
        await http('POST', `/pd/api/v2/tso/keyspace-groups/${from}/split`, {
          'new-id': to,
          keyspaces: [ks1],
        });
        // Both groups are in split state until the target's primary serves (the mock plays it).
        const keyspace = { $case: 'keyspaceId' as const, value: ks1 };
        const anyServer = [...servers.keys()][0] as string;
        const findGroup = () =>
          tso(anyServer).findGroupByKeyspaceID(
            { header: { clusterId }, keyspace },
            { signal: AbortSignal.timeout(5_000) },
          );
        // (the server learns the new group through its etcd watch: ask until it has)
        let during = await findGroup();
        for (let i = 0; i < 50 && during.keyspaceGroup?.id !== to; i++) {
          await new Promise((r) => setTimeout(r, 100));
          during = await findGroup();
        }
        expect(during.keyspaceGroup?.id).toBe(to);
        expect(during.keyspaceGroup?.splitState).toEqual({ splitSource: from });
        await timestampsUntil(client, seen, () => client.timestamps.tsoRoute.keyspaceGroupId === to);
        let finished = during;
        for (let i = 0; i < 50 && finished.keyspaceGroup?.splitState !== undefined; i++) {
          await client.getTimestamp();
          finished = await findGroup();
        }
        expect(finished.keyspaceGroup?.splitState).toBeUndefined();
        expect(finished.modRevision).toBeGreaterThan(during.modRevision);
        const after = await http<{ keyspaces?: number[] }>('GET', `/pd/api/v2/tso/keyspace-groups/${to}`);
        expect(after.keyspaces).toContain(ks1);

        const primary = client.timestamps.tsoRoute.url;
        const pid = servers.get(primary);
        expect(pid).toBeDefined();
        process.kill(pid as number, 'SIGTERM');
        await timestampsUntil(
          client,
          seen,
          () => client.timestamps.tsoRoute.url !== primary && client.timestamps.tsoRoute.url !== '',
          20_000,
        );
        const n = seen.length;
        await timestampsUntil(client, seen, () => seen.length >= n + 20);
        expect(client.timestamps.tsoRoute.keyspaceGroupId).toBe(to);

        // PD drops the stopped server from groups left with fewer than two running members (a
        // loop of its own, every second), as the mock does at once.
        const survivor = client.timestamps.tsoRoute.url;
        let members: string[] = [];
        for (let i = 0; i < 100; i++) {
          const g = await http<{ members?: { address: string }[] }>(
            'GET',
            `/pd/api/v2/tso/keyspace-groups/${to}`,
          );
          members = (g.members ?? []).map((m) => m.address);
          if (members.length === 1) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(members).toEqual([survivor]);
      } finally {
        await client.close();
      }
    }, 120_000);
  });
}
