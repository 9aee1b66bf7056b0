import { type Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClientError } from 'nice-grpc';

/** The parts of a ts-proto bidirectional-streaming method a {@link BidiMethod} is made of. */
export interface BidiMethodDefinition<Req, Resp> {
  /** The method's name in its service (`Tso`, `QueryRegion`). */
  readonly name: string;
  /** Encodes a request. */
  readonly requestType: { encode(message: Req): { finish(): Uint8Array } };
  /** Decodes a response. */
  readonly responseType: { decode(input: Uint8Array): Resp };
  readonly requestStream: true;
  readonly responseStream: true;
}

/** A bidirectional-streaming gRPC method: its path and its message codecs. @internal */
export interface BidiMethod<Req, Resp> {
  /** The full gRPC path, `/pdpb.PD/Tso`. */
  readonly path: string;
  /** Encodes a request for the wire. */
  readonly serialize: (request: Req) => Buffer;
  /** Decodes a response from the wire. */
  readonly deserialize: (bytes: Buffer) => Resp;
}

/**
 * The {@link BidiMethod} of a ts-proto service's method, encoding requests as they are (no
 * `fromPartial` copy: callers pass complete messages).
 *
 * @param service - the service definition (for its full name)
 * @param method - one of its bidirectional-streaming methods
 * @internal
 */
export function bidiMethod<Req, Resp>(
  service: { readonly fullName: string },
  method: BidiMethodDefinition<Req, Resp>,
): BidiMethod<Req, Resp> {
  const { requestType, responseType } = method;
  return {
    path: `/${service.fullName}/${method.name}`,
    serialize: (request) => {
      const bytes = requestType.encode(request).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes) => responseType.decode(bytes),
  };
}

function passEncoded(request: Buffer): Buffer {
  return request;
}

/**
 * The {@link BidiMethod} of a ts-proto service's method whose requests the caller encodes
 * itself (the TSO streams, whose requests differ only in their count).
 *
 * @param service - the service definition (for its full name)
 * @param method - one of its bidirectional-streaming methods
 * @internal
 */
export function encodedBidiMethod<Resp>(
  service: { readonly fullName: string },
  method: Omit<BidiMethodDefinition<unknown, Resp>, 'requestType'>,
): BidiMethod<Buffer, Resp> {
  const { responseType } = method;
  return {
    path: `/${service.fullName}/${method.name}`,
    serialize: passEncoded,
    deserialize: (bytes) => responseType.decode(bytes),
  };
}

/** Receives what arrives on a {@link BidiCall}. @internal */
export interface BidiCallHandlers<Resp> {
  /** A response arrived. */
  onResponse(response: Resp): void;
  /**
   * The call is over: `error` is the transport's failure (a nice-grpc `ClientError` for a gRPC
   * status), or undefined when the server ended the stream. Called at most once, never after
   * {@link BidiCall.cancel}.
   */
  onEnd(error: unknown): void;
}

/** The sending half of an open bidirectional call. @internal */
export interface BidiCall<Req> {
  /** Sends a request. */
  write(request: Req): void;
  /** Cancels the call; no handler is called afterwards. */
  cancel(): void;
}

/** Opens a bidirectional call that reports to `handlers`. @internal */
export type OpenBidiCall<Req, Resp> = (handlers: BidiCallHandlers<Resp>) => BidiCall<Req>;

/**
 * Opens a bidirectional-streaming call with grpc-js directly: requests are written as they
 * come, responses delivered from the call's `data` events (no async iterables, no request
 * queue). A non-OK status is reported as nice-grpc's `ClientError`, as PD's unary calls are.
 *
 * @param client - a grpc-js client over the server's channel
 * @param method - the method and its codecs
 * @param metadata - request headers, if any
 * @param handlers - receives responses and the end of the call
 * @returns the sending half
 * @internal
 */
export function openGrpcBidiCall<Req, Resp>(
  client: Client,
  method: BidiMethod<Req, Resp>,
  metadata: Readonly<Record<string, string>> | undefined,
  handlers: BidiCallHandlers<Resp>,
): BidiCall<Req> {
  const md = new Metadata();
  if (metadata !== undefined) for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const call = client.makeBidiStreamRequest(method.path, method.serialize, method.deserialize, md, {});
  let over = false;
  const end = (error: unknown): void => {
    if (over) return;
    over = true;
    handlers.onEnd(error);
  };
  call.on('data', (response: Resp) => {
    if (!over) handlers.onResponse(response);
  });
  // grpc-js emits 'error' for a non-OK status before 'end'; 'end' alone is the server's clean close.
  call.on('error', (e: ServiceError | Error) => {
    end('code' in e && typeof e.code === 'number' ? new ClientError(method.path, e.code, e.details) : e);
  });
  call.on('end', () => end(undefined));
  return {
    write(request) {
      if (!over) call.write(request);
    },
    cancel() {
      if (over) return;
      over = true;
      call.cancel();
    },
  };
}
