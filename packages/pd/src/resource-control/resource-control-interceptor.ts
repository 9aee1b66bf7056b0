import type { RequestOptions } from '@tikv/common';
import { DEFAULT_RESOURCE_GROUP } from '../pd-resource-manager.js';
import {
  type KvRequestLike,
  type KvResponseLike,
  kvRequestInfo,
  kvResponseInfo,
  resourceGroupOf,
} from './kv-request-info.js';
import type { ResourceGroupController } from './resource-group-controller.js';

/**
 * One step of a request's path, as `@tikv/rpc`'s `RpcCall` (declared here: pd does not depend
 * on rpc); `R` is the response type of the chain it is part of.
 */
export type KvCall<
  Q extends KvRequestLike = KvRequestLike,
  R extends KvResponseLike = KvResponseLike,
  O extends RequestOptions = RequestOptions,
> = (address: string, request: Q, options: O) => Promise<R>;

/**
 * An interceptor in the shape of `@tikv/rpc`'s `RpcInterceptor` (assignable to it): it passes the
 * chain's responses through as they are, whatever their type.
 */
export interface KvInterceptor {
  readonly name: string;
  wrap<Q extends KvRequestLike, R extends KvResponseLike, O extends RequestOptions>(
    next: KvCall<Q, R, O>,
  ): KvCall<Q, R, O>;
}

/** Options of {@link resourceControlInterceptor}. */
export interface ResourceControlInterceptorOptions {
  /** The group of requests whose context names none. @defaultValue 'default' */
  readonly defaultGroup?: string | undefined;
}

/**
 * The interceptor that puts every TiKV request under resource control (client-go's
 * `interceptor` around `ResourceGroupsController.OnRequestWait` / `OnResponse`): the group is
 * the one the request's context names (`resource_control_context.resource_group_name`), else
 * `defaultGroup`; the request waits for its group's tokens before it is sent, and the response's
 * cost is charged after. Pass it in `sender.interceptors` of `RawClient.connect` /
 * `TransactionClient.connect`.
 *
 * @example
 * ```ts
 * const pd = await PdClient.connect({ endpoints });
 * const controller = new ResourceGroupController(pd.resourceManager);
 * controller.start();
 * const raw = await RawClient.connect({ pdEndpoints: endpoints, sender: { interceptors: [resourceControlInterceptor(controller, { defaultGroup: 'batch' })] } });
 * ```
 */
export function resourceControlInterceptor(
  controller: ResourceGroupController,
  options: ResourceControlInterceptorOptions = {},
): KvInterceptor {
  const defaultGroup = options.defaultGroup ?? DEFAULT_RESOURCE_GROUP;
  return Object.freeze({
    name: 'resource-control',
    wrap<Q extends KvRequestLike, R extends KvResponseLike, O extends RequestOptions>(
      next: KvCall<Q, R, O>,
    ): KvCall<Q, R, O> {
      return async (address, request, opts) => {
        const group = resourceGroupOf(request) || defaultGroup;
        const info = kvRequestInfo(request);
        await controller.onRequestWait(group, info, opts);
        let response: R | undefined;
        try {
          response = await next(address, request, opts);
          return response;
        } finally {
          controller.onResponse(group, info, kvResponseInfo(response));
        }
      };
    },
  });
}
