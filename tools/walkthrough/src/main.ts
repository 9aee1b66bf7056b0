/**
 * The README walkthrough (`pnpm start`). It starts the embedded cluster (or uses the cluster in
 * `TIKV_PD_ENDPOINTS`), then walks the path every request of the client takes: ask PD for the
 * region of a key and the address of its leader's store, send a RawKV request with a full
 * `Context` to that store, and watch a region error steer the retry after a split.
 *
 * Until `@tikv/raw` exists this talks to PD and TiKV through the generated protocol clients of
 * `@tikv/proto`; every step prints what it did.
 */
import { composeTs, dateFromTs, extractLogical, extractPhysical, formatKey, toBytes } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb, metapb, pdpb, tikvpb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';

const decoder = new TextDecoder();
const show = (b: Uint8Array | undefined) =>
  b === undefined ? '(absent)' : JSON.stringify(decoder.decode(b));

async function main(): Promise<void> {
  const external = process.env.TIKV_PD_ENDPOINTS?.split(',').filter(Boolean);
  const cluster = external ? undefined : await MockCluster.start({ stores: 3 });
  const pdEndpoints = external ?? cluster?.pdEndpoints ?? [];
  console.log(
    cluster
      ? `embedded cluster: PD at ${pdEndpoints.join(', ')}`
      : `cluster: PD at ${pdEndpoints.join(', ')}`,
  );
  const channels: Channel[] = [];
  const open = (address: string) => {
    const ch = createChannel(address);
    channels.push(ch);
    return ch;
  };
  try {
    const pd = createClient(pdpb.PDDefinition, open(pdEndpoints[0] ?? '127.0.0.1:2379'));
    const members = await pd.getMembers({});
    const clusterId = members.header?.clusterId ?? 0n;
    console.log(`1. PD leader ${members.leader?.name ?? '?'} of cluster ${clusterId}`);

    const stores = await pd.getAllStores({ header: { clusterId }, excludeTombstoneStores: true });
    for (const s of stores.stores)
      console.log(`   store ${s.id} at ${s.address} (${metapb.StoreState[s.state]})`);

    const tso = pd.tso(
      (async function* () {
        yield pdpb.TsoRequest.fromPartial({ header: { clusterId }, count: 10 });
      })(),
    );
    for await (const resp of tso) {
      const ts = composeTs(Number(resp.timestamp?.physical ?? 0n), Number(resp.timestamp?.logical ?? 0n));
      console.log(
        `2. a batch of ${resp.count} timestamps ends at ${ts} (physical ${extractPhysical(ts)} ms = ${dateFromTs(ts).toISOString()}, logical ${extractLogical(ts)})`,
      );
      break;
    }

    const kvFor = async (key: Uint8Array) => {
      const { region, leader } = await pd.getRegion({ header: { clusterId }, regionKey: key });
      if (!region || !leader) throw new Error(`no region for ${formatKey(key)}`);
      const store = await pd.getStore({ header: { clusterId }, storeId: leader.storeId });
      const context = kvrpcpb.Context.fromPartial({
        regionId: region.id,
        regionEpoch: region.regionEpoch,
        peer: leader,
      });
      const tikv = createClient(tikvpb.TikvDefinition, open(store.store?.address ?? ''));
      return { region, leader, context, tikv };
    };

    const key = toBytes('walkthrough:greeting');
    const route = await kvFor(key);
    console.log(
      `3. key ${show(key)} lives in region ${route.region.id} (epoch v${route.region.regionEpoch?.version}), leader on store ${route.leader.storeId}`,
    );
    await route.tikv.rawPut({ context: route.context, key, value: toBytes('hello, TiKV') });
    const got = await route.tikv.rawGet({ context: route.context, key });
    console.log(`4. RawPut then RawGet -> ${show(got.value)}`);
    const missing = await route.tikv.rawGet({ context: route.context, key: toBytes('walkthrough:nobody') });
    console.log(`   RawGet of an absent key -> notFound=${missing.notFound}`);

    if (cluster) {
      cluster.split('walkthrough:m');
      console.log('5. the cluster splits the region at "walkthrough:m"; the cached epoch is now stale');
      const stale = await route.tikv.rawGet({ context: route.context, key });
      const err = stale.regionError;
      console.log(
        `   the same request now answers EpochNotMatch with ${err?.epochNotMatch?.currentRegions.length ?? 0} current regions: "${err?.message}"`,
      );
      const fresh = await kvFor(key);
      const again = await fresh.tikv.rawGet({ context: fresh.context, key });
      console.log(
        `   re-routed to region ${fresh.region.id} (epoch v${fresh.region.regionEpoch?.version}) -> ${show(again.value)}`,
      );
    }

    const scanRoute = await kvFor(toBytes('walkthrough:'));
    const scan = await scanRoute.tikv.rawScan({
      context: scanRoute.context,
      startKey: toBytes('walkthrough:'),
      endKey: toBytes('walkthrough;'),
      limit: 10,
    });
    console.log(
      `6. RawScan of the region holding "walkthrough:" -> ${scan.kvs.map((p) => show(p.key)).join(', ')}`,
    );
    console.log('\nNext: @tikv/raw will wrap all of this (routing, retries, batching) in RawClient.');
  } finally {
    for (const ch of channels) ch.close();
    await cluster?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
