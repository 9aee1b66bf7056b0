/**
 * Test helpers for code built on the region cache: an in-memory {@link RegionSource}.
 *
 * @packageDocumentation
 */
export { type CallCounts, FakeCluster } from './fake-cluster.js';
