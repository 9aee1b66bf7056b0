import type { RegionErrorKind } from '@tikv/common';
import type { errorpb, kvrpcpb } from '@tikv/proto';

/**
 * The region errors the mock can inject by name (every arm of `errorpb.Error`); each is filled in
 * from the current topology.
 */
export type InjectableRegionErrorKind = Exclude<RegionErrorKind, 'Other'>;

/** A gRPC status code (the numeric codes of `@grpc/grpc-js`'s `status` / nice-grpc's `Status`). */
export type GrpcStatusCode = number;

/**
 * What an injected fault answers with:
 * - a region error by name (built from the current region and store, like TiKV would),
 * - a literal region error (`{ regionError }`), sent as given,
 * - a gRPC status (`{ grpcStatus, message }`): the call fails with that status,
 * - a KeyError (`{ keyError }`) for transactional commands: answered in the response's `error`
 *   (or as the only entry of `errors`) without running the command.
 */
export type InjectedError =
  | InjectableRegionErrorKind
  | { readonly regionError: errorpb.DeepPartial<errorpb.Error> }
  | { readonly grpcStatus: GrpcStatusCode; readonly message?: string }
  | { readonly keyError: kvrpcpb.DeepPartial<kvrpcpb.KeyError> };

/** Which requests a fault applies to, and how often. */
export interface FaultSpec {
  /**
   * gRPC method name (`'RawGet'`, `'KvPrewrite'`, `'GetRegion'`, `'Tso'`...); a command inside
   * BatchCommands matches by the name of its unary method. Omitted: every method.
   */
  readonly method?: string;
  /** Only requests served by this store. Omitted: any store (and PD for gRPC statuses). */
  readonly storeId?: bigint | number;
  /** Only requests whose context names this region. */
  readonly regionId?: bigint | number;
  /** How many matching requests fail; `Infinity` until cleared. */
  readonly times: number;
  readonly error: InjectedError;
}

/** A registered fault. */
export interface FaultHandle {
  /** How many requests it has failed so far. */
  readonly hits: number;
  /** How many more it will fail. */
  readonly remaining: number;
  /** Stops it early. */
  clear(): void;
}
