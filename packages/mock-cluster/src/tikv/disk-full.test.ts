import { kvrpcpb } from '@tikv/proto';
import { RegionKeyEncoding } from '../api-version.js';
import { ClusterModel } from '../cluster/cluster-model.js';
import { createRegionKeyCodec } from '../cluster/region-key-codec.js';
import { DiskUsage } from '../cluster/topology-types.js';
import { checkDiskFull } from './context-check.js';

const { NotAllowedOnFull, AllowedOnAlmostFull, AllowedOnAlreadyFull } = kvrpcpb.DiskFullOpt;

describe("TiKV's disk-full check of writes (check_normal_proposal_with_disk_full_opt)", () => {
  test.each([
    [DiskUsage.Normal, NotAllowedOnFull, true],
    [DiskUsage.Normal, AllowedOnAlmostFull, true],
    [DiskUsage.AlmostFull, NotAllowedOnFull, false],
    [DiskUsage.AlmostFull, AllowedOnAlmostFull, true],
    [DiskUsage.AlmostFull, AllowedOnAlreadyFull, true],
    [DiskUsage.AlreadyFull, AllowedOnAlmostFull, false],
    [DiskUsage.AlreadyFull, AllowedOnAlreadyFull, false],
  ])('disk %s, option %s: allowed %s', (usage, opt, allowed) => {
    const model = new ClusterModel(createRegionKeyCodec(RegionKeyEncoding.Raw));
    const store = model.addStore();
    model.updateStore(store.id, { diskUsage: usage });
    const ctx = kvrpcpb.Context.fromPartial({ diskFullOpt: opt });
    const err = checkDiskFull(model, store.id, ctx);
    if (allowed) expect(err).toBeUndefined();
    else expect(err?.diskFull?.storeId).toEqual([store.id]);
  });

  test('a request without a context is NotAllowedOnFull', () => {
    const model = new ClusterModel(createRegionKeyCodec(RegionKeyEncoding.Raw));
    const store = model.addStore();
    model.updateStore(store.id, { diskUsage: DiskUsage.AlmostFull });
    expect(checkDiskFull(model, store.id, undefined)?.diskFull?.reason).toBe('disk almost full');
  });
});
