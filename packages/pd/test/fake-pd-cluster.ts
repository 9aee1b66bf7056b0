import { keyspacepb, metapb, pdpb } from '@tikv/proto';
import {
  type CallContext,
  createServer,
  type Server,
  ServerError,
  type ServiceImplementation,
  Status,
} from 'nice-grpc';

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
  /** Calls received per method (a stalled call counts when it arrives). */
  readonly calls = new Map<string, number>();
  /** Keyspaces served by `LoadKeyspace`, by name. */
  readonly keyspaces = new Map<string, keyspacepb.KeyspaceMeta>();
  private members: pdpb.Member[] = [];
  private readonly stalls = new Map<string, number>();
  private readonly headerErrors = new Map<string, pdpb.Error[]>();
  private membersWaiters: Array<() => void> = [];
  private readonly stalled = new Set<() => void>();

  static async start(memberCount = 1): Promise<FakePdCluster> {
    const c = new FakePdCluster();
    for (let i = 0; i < memberCount; i++) {
      const server = createServer();
      server.add(pdpb.PDDefinition, c.impl(i) as unknown as ServiceImplementation<typeof pdpb.PDDefinition>);
      server.add(keyspacepb.KeyspaceDefinition, c.keyspaceImpl(i));
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
    this.releaseStalls();
    await Promise.all(this.servers.map((s) => s.shutdown()));
  }

  /**
   * Makes the next `times` calls of `method` (a PD or keyspace method name, e.g. `getAllStores`,
   * `queryRegion`) hang without an answer until the client gives up on them or the test calls
   * {@link releaseStalls}: PD paused, as by SIGSTOP.
   */
  stall(method: string, times = 1): void {
    this.stalls.set(method, (this.stalls.get(method) ?? 0) + times);
  }

  /** Makes the next call of `method` answer with this header error (queued per method). */
  answerNext(method: string, type: pdpb.ErrorType, message: string): void {
    const q = this.headerErrors.get(method) ?? [];
    q.push({ type, message });
    this.headerErrors.set(method, q);
  }

  /** Resolves at the next `GetMembers` any member receives. */
  nextGetMembers(): Promise<void> {
    return new Promise((resolve) => this.membersWaiters.push(resolve));
  }

  /** Lets every stalled call go on. */
  releaseStalls(): void {
    for (const release of this.stalled) release();
    this.stalled.clear();
  }

  /** Counts a call and holds it while a stall is armed for its method. */
  private async arrive(method: string, signal: AbortSignal): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const left = this.stalls.get(method) ?? 0;
    if (left === 0) return;
    this.stalls.set(method, left - 1);
    await new Promise<void>((resolve, reject) => {
      const release = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.stalled.delete(release);
        reject(new ServerError(Status.CANCELLED, `${method} cancelled by the client while stalled`));
      };
      this.stalled.add(release);
      signal.addEventListener('abort', onAbort, { once: true });
    });
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
        for (const w of self.membersWaiters.splice(0)) w();
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
      async *queryRegion(reqs: AsyncIterable<pdpb.QueryRegionRequest>, ctx: CallContext) {
        for await (const req of reqs) {
          await self.arrive('queryRegion', ctx.signal);
          self.check(member, 'queryRegion');
          const injected = self.headerErrors.get('queryRegion')?.shift();
          if (injected !== undefined) {
            yield self.errorHeader(injected.type, injected.message);
            continue;
          }
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
      getRegion: async (req: pdpb.GetRegionRequest, ctx: CallContext) => {
        await self.arrive('getRegion', ctx.signal);
        self.check(member, 'getRegion');
        const injected = self.headerErrors.get('getRegion')?.shift();
        if (injected !== undefined) return self.errorHeader(injected.type, injected.message);
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
        self.calls.set('batchScanRegions', (self.calls.get('batchScanRegions') ?? 0) + 1);
        // PD's own checks and words (pkg/utils/grpcutil BatchScanRegions): UNKNOWN header errors
        for (let i = 0; i < req.ranges.length; i++) {
          const kr = req.ranges[i]!;
          if (i > 0 && cmp(kr.startKey, req.ranges[i - 1]!.endKey) < 0) {
            return self.errorHeader(pdpb.ErrorType.UNKNOWN, 'invalid key range, ranges overlapped');
          }
          if (kr.endKey.length > 0 && cmp(kr.startKey, kr.endKey) > 0) {
            return self.errorHeader(pdpb.ErrorType.UNKNOWN, 'invalid key range, start key > end key');
          }
        }
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
        self.calls.set('getStore', (self.calls.get('getStore') ?? 0) + 1);
        if (req.storeId === 3n) {
          return {
            header: {
              clusterId: self.clusterId,
              error: { type: pdpb.ErrorType.STORE_TOMBSTONE, message: 'tombstone' },
            },
          };
        }
        if (req.storeId !== 1n && req.storeId !== 2n) {
          // PD's answer for an unknown store (server/grpc_service.go GetStore)
          return self.errorHeader(pdpb.ErrorType.UNKNOWN, `invalid store ID ${req.storeId}, not found`);
        }
        return {
          header: self.header(),
          store: {
            id: req.storeId,
            address: `127.0.0.1:2016${req.storeId}`,
            labels: [{ key: 'zone', value: 'z1' }],
          },
        };
      },
      getAllStores: async (req: pdpb.GetAllStoresRequest, ctx: CallContext) => {
        await self.arrive('getAllStores', ctx.signal);
        self.check(member, 'getAllStores');
        const injected = self.headerErrors.get('getAllStores')?.shift();
        if (injected !== undefined) return self.errorHeader(injected.type, injected.message);
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
        // PD (RegionScatterer.ScatterRegionsByID): one unknown region alone is refused with a Go
        // error (gRPC UNKNOWN); among several, the unknown ones are listed as failed
        const failed = req.regionsId.filter((id) => !self.regions.some((r) => r.id === id));
        if (req.regionsId.length === 1 && failed.length === 1) {
          throw new ServerError(Status.UNKNOWN, '[PD:region:ErrRegionNotFound]region %v not found');
        }
        const done = req.regionsId.length - failed.length;
        return {
          header: self.header(),
          finishedPercentage: BigInt(
            failed.length === 0 ? 100 : 100 - Math.floor((100 * failed.length) / (done + failed.length)),
          ),
          failedRegionsId: failed,
        };
      },
      getGCState: async (req: pdpb.GetGCStateRequest, ctx: CallContext) => {
        await self.arrive('getGCState', ctx.signal);
        self.check(member, 'getGCState');
        return {
          header: self.header(),
          gcState: {
            keyspaceScope: req.keyspaceScope,
            isKeyspaceLevelGc: false,
            txnSafePoint: 5n,
            gcSafePoint: 3n,
            gcBarriers: [],
          },
        };
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

  private errorHeader(type: pdpb.ErrorType, message: string): { header: pdpb.ResponseHeader } {
    return { header: { clusterId: this.clusterId, error: { type, message } } };
  }

  private keyspaceImpl(member: number): ServiceImplementation<typeof keyspacepb.KeyspaceDefinition> {
    const self = this;
    const base: Record<string, unknown> = {};
    for (const name of Object.keys(keyspacepb.KeyspaceDefinition.methods)) {
      base[name] = () => {
        throw new ServerError(Status.UNIMPLEMENTED, name);
      };
    }
    return {
      ...base,
      async loadKeyspace(req: keyspacepb.LoadKeyspaceRequest, ctx: CallContext) {
        await self.arrive('loadKeyspace', ctx.signal);
        self.check(member, 'loadKeyspace');
        const meta = self.keyspaces.get(req.name);
        if (meta === undefined) {
          return {
            ...self.errorHeader(pdpb.ErrorType.ENTRY_NOT_FOUND, 'keyspace not found'),
            keyspace: undefined,
          };
        }
        return { header: self.header(), keyspace: meta };
      },
    } as unknown as ServiceImplementation<typeof keyspacepb.KeyspaceDefinition>;
  }
}
