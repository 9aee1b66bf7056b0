import type { SendOptions } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import type { ResponseFor, TikvRequest, TikvResponse } from './tikv-commands.js';

/**
 * Encodes requests and decodes responses between user-key space and the keys TiKV stores
 * (client-go's codec client). `@tikv/keyspace`'s `Codec` satisfies it.
 */
export interface RequestCodec {
  /** The request with its keys (and context) encoded; must not change its `$case`. */
  encodeRequest<R extends TikvRequest>(request: R): R;
  /** The response with its keys, and the keys in its region error, decoded. */
  decodeResponse<R extends TikvResponse>(response: R): R;
}

/**
 * A {@link KvTransport} that encodes every request and decodes every response with a
 * {@link RequestCodec}, so that the region cache and the sender work with user keys.
 */
export class CodecTransport implements KvTransport {
  /**
   * @param inner - the transport that talks to the stores
   * @param codec - the key codec
   */
  constructor(
    private readonly inner: KvTransport,
    private readonly codec: RequestCodec,
  ) {}

  /**
   * Encodes, sends and decodes one request.
   * @throws what the codec throws for a key outside its keyspace, and what `inner.send` throws
   */
  async send<R extends TikvRequest>(
    address: string,
    request: R,
    options?: SendOptions,
  ): Promise<ResponseFor<R>> {
    const encoded = this.codec.encodeRequest(request);
    const response = await this.inner.send(address, encoded, options);
    return this.codec.decodeResponse(response);
  }

  /** Closes the connections to one store. */
  closeAddress(address: string): Promise<void> {
    return this.inner.closeAddress(address);
  }

  /** Closes the inner transport. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
