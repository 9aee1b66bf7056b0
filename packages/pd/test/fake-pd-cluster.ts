import { metapb, pdpb } from '@tikv/proto';
import { createServer, type Server, ServerError, type ServiceImplementation, Status } from 'nice-grpc';

/** A region of the fake cluster. */
export interface FakeRegion {
  id: bigint;
  startKey: Uint8Array;
  endKey: Uint8Array;
  version: bigint;
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * A fake multi-member PD cluster on loopback for the client's tests: members share one TSO
 * counter and region map, only the leader answers, and the test switches the leader, breaks
 * streams and removes RPCs.
 */
export class FakePdCluster {
  readonly clusterId = 7n;
  private servers: Server[] = [];
  urls: string[] = [];
  leaderIndex = 0;
  physical = BigInt(Date.now());
  logical = 0n;
  tsoRequests = 0;
  queryRegionRequests = 0;
  unaryRegionRequests = 0;
  getMembersCalls = 0;
  regions: FakeRegion[] = [{ id: 1n, startKey: new Uint8Array(), endKey: new Uint8Array(), version: 1n }];
  nextId = 100n;
  unimplemented = new Set<string>();
  /** When set, the next TSO request on a stream fails with this status. */
  breakNextTso: Status | undefined;
  failNextUnary: Status | undefined;
  private members: pdpb.Member[] = [];

  static async start(memberCount = 1): Promise<FakePdCluster> {
    const c = new FakePdCluster();
    for (let i = 0; i < memberCount; i++) {
      const server = createServer();
      server.add(pdpb.PDDefinition, c.impl(i) as unknown as ServiceImplementation<typeof pdpb.PDDefinition>);
      const port = await server.listen('127.0.0.1:0');
      c.servers.push(server);
      c.urls.push(`http://127.0.0.1:${port}`);
    }
    c.members = c.urls.map((u, i) =>
      pdpb.Member.fromPartial({ memberId: BigInt(i + 1), name: `pd-${i}`, clientUrls: [u] }),
    );
    return c;
  }

  get endpoints(): string[] {
    return this.urls.map((u) => u.replace('http://', ''));
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.shutdown()));
  }

  split(key: Uint8Array): void {
    const i = this.regions.findIndex(
      (r) => cmp(r.startKey, key) <= 0 && (r.endKey.length === 0 || cmp(key, r.endKey) < 0),
    );
    const r = this.regions[i]!;
    const right = { id: this.nextId++, startKey: key, endKey: r.endKey, version: r.version + 1n };
    r.endKey = key;
    r.version += 1n;
    this.regions.splice(i + 1, 0, right);
  }

  merge(leftId: bigint): void {
    const i = this.regions.findIndex((r) => r.id === leftId);
    const l = this.regions[i]!;
    const r = this.regions[i + 1]!;
    l.endKey = r.endKey;
    l.version = (l.version > r.version ? l.version : r.version) + 1n;
    this.regions.splice(i + 1, 1);
  }

  private header(): pdpb.ResponseHeader {
    return { clusterId: this.clusterId, error: undefined };
  }

  private wire(r: FakeRegion): pdpb.RegionResponse {
    const peer = { id: r.id * 10n, storeId: 1n, role: metapb.PeerRole.Voter, isWitness: false };
    return pdpb.RegionResponse.fromPartial({
      region: {
        id: r.id,
        startKey: r.startKey,
        endKey: r.endKey,
        regionEpoch: { confVer: 1n, version: r.version },
        peers: [peer],
      },
      leader: peer,
      downPeers: [],
      pendingPeers: [],
    });
  }

  private byKey(key: Uint8Array): FakeRegion | undefined {
    return this.regions.find(
      (r) => cmp(r.startKey, key) <= 0 && (r.endKey.length === 0 || cmp(key, r.endKey) < 0),
    );
  }

  private prev(key: Uint8Array): FakeRegion | undefined {
    const i = this.regions.indexOf(this.byKey(key) as FakeRegion);
    return i > 0 ? this.regions[i - 1] : undefined;
  }

  private check(member: number, method: string): void {
    if (this.unimplemented.has(method))
      throw new ServerError(Status.UNIMPLEMENTED, `${method} not implemented`);
    if (member !== this.leaderIndex) throw new ServerError(Status.UNAVAILABLE, 'not leader');
    if (this.failNextUnary !== undefined && method !== 'tso' && method !== 'queryRegion') {
      const s = this.failNextUnary;
      this.failNextUnary = undefined;
      throw new ServerError(s, 'injected failure');
    }
  }

  private impl(member: number): Record<string, unknown> {
    const base: Record<string, unknown> = {};
    for (const name of Object.keys(pdpb.PDDefinition.methods)) {
      base[name] = () => {
        throw new ServerError(Status.UNIMPLEMENTED, name);
      };
    }
    const self = this;
    return {
      ...base,
      getMembers: () => {
        self.getMembersCalls++;
        return { header: self.header(), members: self.members, leader: self.members[self.leaderIndex] };
      },
      async *tso(reqs: AsyncIterable<pdpb.TsoRequest>) {
        for await (const req of reqs) {
          self.check(member, 'tso');
          if (self.breakNextTso !== undefined) {
            const s = self.breakNextTso;
            self.breakNextTso = undefined;
            throw new ServerError(s, 'tso stream broken by test');
          }
          self.tsoRequests++;
          self.logical += BigInt(req.count);
          if (self.logical > 200_000n) {
            self.physical += 1n;
            self.logical = BigInt(req.count);
          }
          yield {
            header: self.header(),
            count: req.count,
            timestamp: { physical: self.physical, logical: self.logical, suffixBits: 0 },
          };
        }
      },
      async *queryRegion(reqs: AsyncIterable<pdpb.QueryRegionRequest>) {
        for await (const req of reqs) {
          self.check(member, 'queryRegion');
          self.queryRegionRequests++;
          const byId = new Map<bigint, pdpb.RegionResponse>();
          const idOf = (r: FakeRegion | undefined): bigint => {
            if (r === undefined) return 0n;
            byId.set(r.id, self.wire(r));
            return r.id;
          };
          const keyIdMap = req.keys.map((k) => idOf(self.byKey(k)));
          const prevKeyIdMap = req.prevKeys.map((k) => idOf(self.prev(k)));
          for (const id of req.ids) idOf(self.regions.find((r) => r.id === id));
          yield { header: self.header(), keyIdMap, prevKeyIdMap, regionsById: byId };
        }
      },
      getRegion: (req: pdpb.GetRegionRequest) => {
        self.check(member, 'getRegion');
        self.unaryRegionRequests++;
        const r = self.byKey(req.regionKey);
        return r === undefined ? { header: self.header() } : { header: self.header(), ...self.wire(r) };
      },
      getPrevRegion: (req: pdpb.GetRegionRequest) => {
        self.check(member, 'getPrevRegion');
        self.unaryRegionRequests++;
        const r = self.prev(req.regionKey);
        return r === undefined ? { header: self.header() } : { header: self.header(), ...self.wire(r) };
      },
      getRegionByID: (req: pdpb.GetRegionByIDRequest) => {
        self.check(member, 'getRegionByID');
        self.unaryRegionRequests++;
        const r = self.regions.find((x) => x.id === req.regionId);
        return r === undefined ? { header: self.header() } : { header: self.header(), ...self.wire(r) };
      },
      scanRegions: (req: pdpb.ScanRegionsRequest) => {
        self.check(member, 'scanRegions');
        const out = self.regions.filter(
          (r) =>
            (req.endKey.length === 0 || cmp(r.startKey, req.endKey) < 0) &&
            (r.endKey.length === 0 || cmp(req.startKey, r.endKey) < 0),
        );
        const limited = req.limit > 0 ? out.slice(0, req.limit) : out;
        return { header: self.header(), regions: limited.map((r) => self.wire(r)) };
      },
      batchScanRegions: (req: pdpb.BatchScanRegionsRequest) => {
        self.check(member, 'batchScanRegions');
        const out: pdpb.Region[] = [];
        for (const kr of req.ranges) {
          for (const r of self.regions) {
            if (
              (kr.endKey.length === 0 || cmp(r.startKey, kr.endKey) < 0) &&
              (r.endKey.length === 0 || cmp(kr.startKey, r.endKey) < 0)
            ) {
              out.push(self.wire(r) as pdpb.Region);
            }
          }
        }
        return { header: self.header(), regions: req.limit > 0 ? out.slice(0, req.limit) : out };
      },
      getStore: (req: pdpb.GetStoreRequest) => {
        self.check(member, 'getStore');
        if (req.storeId === 3n) {
          return {
            header: {
              clusterId: self.clusterId,
              error: { type: pdpb.ErrorType.STORE_TOMBSTONE, message: 'tombstone' },
            },
          };
        }
        if (req.storeId !== 1n && req.storeId !== 2n) return { header: self.header() };
        return {
          header: self.header(),
          store: {
            id: req.storeId,
            address: `127.0.0.1:2016${req.storeId}`,
            labels: [{ key: 'zone', value: 'z1' }],
          },
        };
      },
      getAllStores: (req: pdpb.GetAllStoresRequest) => {
        self.check(member, 'getAllStores');
        const stores = [
          { id: 1n, address: 'a', state: metapb.StoreState.Up },
          { id: 3n, address: 'c', state: metapb.StoreState.Tombstone },
        ];
        return { header: self.header(), stores: req.excludeTombstoneStores ? stores.slice(0, 1) : stores };
      },
      splitRegions: (req: pdpb.SplitRegionsRequest) => {
        self.check(member, 'splitRegions');
        const ids: bigint[] = [];
        for (const k of req.splitKeys) {
          self.split(k);
          ids.push(self.byKey(k)!.id);
        }
        return { header: self.header(), finishedPercentage: 100n, regionsId: ids };
      },
      scatterRegion: (req: pdpb.ScatterRegionRequest) => {
        self.check(member, 'scatterRegion');
        if (req.regionsId.some((id) => !self.regions.some((r) => r.id === id))) {
          return {
            header: {
              clusterId: self.clusterId,
              error: { type: pdpb.ErrorType.REGION_NOT_FOUND, message: 'region not found' },
            },
          };
        }
        return { header: self.header(), finishedPercentage: 100n, failedRegionsId: [] };
      },
      getOperator: (req: pdpb.GetOperatorRequest) => {
        self.check(member, 'getOperator');
        return {
          header: self.header(),
          regionId: req.regionId,
          desc: new TextEncoder().encode('scatter-region'),
          status: pdpb.OperatorStatus.RUNNING,
          kind: new TextEncoder().encode('admin'),
        };
      },
      getExternalTimestamp: () => ({ header: self.header(), timestamp: self.external }),
      setExternalTimestamp: (req: pdpb.SetExternalTimestampRequest) => {
        if (req.timestamp < self.external) {
          return {
            header: {
              clusterId: self.clusterId,
              error: { type: pdpb.ErrorType.INVALID_VALUE, message: 'cannot decrease' },
            },
          };
        }
        self.external = req.timestamp;
        return { header: self.header() };
      },
      getMinTS: () => {
        self.check(member, 'getMinTS');
        return {
          header: self.header(),
          timestamp: { physical: self.physical, logical: self.logical, suffixBits: 0 },
        };
      },
    };
  }

  external = 0n;
}
