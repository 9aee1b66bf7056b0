/**
 * `@tikv/testing`: fakes shared by the test suites of several packages. Private: it is never
 * published, and no package's `src` may import it.
 *
 * @packageDocumentation
 */
export {
  type CallCounts,
  type FakeBuckets,
  FakeCluster,
  type FakePeer,
  type FakeRegionInfo,
  type FakeStoreInfo,
  type FakeStoreLabel,
} from './fake-cluster.js';
export {
  driveClock,
  type FakeKeyLocation,
  type FakeKeyRegion,
  FakeKeySpace,
  type FakeRegionVerId,
  regionHolds,
} from './fake-key-space.js';
