/**
 * The TiKV and PD wire protocol for TypeScript. Each protobuf package is exported as a
 * namespace of ts-proto generated messages (64-bit integers as `bigint`, bytes as
 * `Uint8Array`) and nice-grpc service definitions. Generated from `proto/` by `pnpm gen`.
 */
export * as apipb from './gen/apipb.js';
export * as coprocessor from './gen/coprocessor.js';
export * as deadlock from './gen/deadlock.js';
export * as debugpb from './gen/debugpb.js';
export * as encryptionpb from './gen/encryptionpb.js';
export * as errorpb from './gen/errorpb.js';
export * as health from './gen/health.js';
export * as keyspacepb from './gen/keyspacepb.js';
export * as kvrpcpb from './gen/kvrpcpb.js';
export * as meta_storagepb from './gen/meta_storagepb.js';
export * as metapb from './gen/metapb.js';
export * as pdpb from './gen/pdpb.js';
export * as resource_manager from './gen/resource_manager.js';
export * as tikvpb from './gen/tikvpb.js';
export * as tracepb from './gen/tracepb.js';
export * as tsopb from './gen/tsopb.js';
