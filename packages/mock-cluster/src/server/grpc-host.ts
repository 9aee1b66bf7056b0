import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { AsyncQueue } from '@tikv/common';
import { type RpcContext, RpcError } from './rpc-error.js';

/** The parts of a ts-proto message codec the host uses. */
interface MessageCodec {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
  fromPartial(object: never): unknown;
}

/** A ts-proto generic service definition (`TikvDefinition`, `PDDefinition`, ...). */
export interface GenericServiceDefinition {
  readonly fullName: string;
  readonly methods: Readonly<
    Record<
      string,
      {
        readonly name: string;
        readonly requestType: MessageCodec;
        readonly responseType: MessageCodec;
        readonly requestStream: boolean;
        readonly responseStream: boolean;
      }
    >
  >;
}

/** A unary handler: may answer synchronously. */
export type UnaryHandler = (request: never, ctx: RpcContext) => unknown;
/** A bidirectional-streaming handler. */
export type BidiHandler = (requests: AsyncIterable<never>, ctx: RpcContext) => AsyncIterable<unknown>;
/** A server-streaming handler: one request, a stream of responses. */
export type ServerStreamHandler = (request: never, ctx: RpcContext) => AsyncIterable<unknown>;

/** Handlers by the definition's method key (`rawGet`, `batchCommands`, ...). */
export type ServiceHandlers = Readonly<Record<string, UnaryHandler | BidiHandler | ServerStreamHandler>>;

/**
 * What a service's handlers answer with: `partial` messages are completed with the response
 * type's `fromPartial` (a deep copy) before encoding; `complete` ones are encoded as they are.
 */
export type ResponseForm = 'partial' | 'complete';

/** One service a host serves: its definition, handlers and the form of their responses. */
export type ServiceBinding = readonly [GenericServiceDefinition, ServiceHandlers, ResponseForm?];

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof RpcError) return { code: e.code, details: e.details };
  return { code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e) };
}

function grpcDefinition(def: GenericServiceDefinition, responses: ResponseForm): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    out[key] = {
      path: `/${def.fullName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      originalName: key,
      requestSerialize: (v: unknown) =>
        toBuffer(m.requestType.encode(m.requestType.fromPartial(v as never) as never).finish()),
      requestDeserialize: (b: Buffer) => m.requestType.decode(b),
      responseSerialize:
        responses === 'complete'
          ? (v: unknown) => toBuffer(m.responseType.encode(v as never).finish())
          : (v: unknown) =>
              toBuffer(m.responseType.encode(m.responseType.fromPartial(v as never) as never).finish()),
      responseDeserialize: (b: Buffer) => m.responseType.decode(b),
    };
  }
  return out;
}

function unaryHandler(h: UnaryHandler): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const ac = new AbortController();
    call.once('cancelled', () => ac.abort());
    try {
      const r = h(call.request as never, { signal: ac.signal, metadata: call.metadata });
      if (r instanceof Promise) {
        r.then(
          (v) => callback(null, v),
          (e: unknown) => callback(toServiceError(e)),
        );
      } else {
        callback(null, r);
      }
    } catch (e) {
      callback(toServiceError(e));
    }
  };
}

function readRequests(call: grpc.ServerDuplexStream<unknown, unknown>): AsyncIterable<never> {
  const q = new AsyncQueue<never>();
  call.on('data', (req: unknown) => q.push(req as never));
  // Half-close, cancellation and errors all end the handler's input.
  call.once('end', () => q.end());
  call.once('close', () => q.end());
  call.once('error', () => q.end());
  return q;
}

/** Writes a handler's responses to a call with flow control, then ends it (or fails it). */
function writeResponses(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  responses: (signal: AbortSignal) => AsyncIterable<unknown>,
): void {
  const ac = new AbortController();
  call.once('cancelled', () => ac.abort());
  (async () => {
    for await (const resp of responses(ac.signal)) {
      if (ac.signal.aborted) return;
      if (!call.write(resp)) await once(call, 'drain', { signal: ac.signal });
    }
    call.end();
  })().catch((e: unknown) => {
    if (!ac.signal.aborted) call.emit('error', { metadata: new grpc.Metadata(), ...toServiceError(e) });
  });
}

function bidiHandler(h: BidiHandler): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) =>
    writeResponses(call, (signal) => h(readRequests(call), { signal, metadata: call.metadata }));
}

function serverStreamHandler(h: ServerStreamHandler): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) =>
    writeResponses(call, (signal) => h(call.request as never, { signal, metadata: call.metadata }));
}

/** Options of a {@link GrpcHost}. */
export interface GrpcHostOptions {
  /** Do not keep the Node.js process alive for this host's sockets. */
  readonly unref: boolean;
  /** Largest request message accepted; -1 for any size. */
  readonly maxReceiveMessageBytes: number;
  /** TLS credentials; plaintext when absent. */
  readonly credentials?: grpc.ServerCredentials | undefined;
  /**
   * Also serve HTTP/1.1 on the same port with this listener (plaintext only), as PD serves its
   * HTTP API next to gRPC: a connection that does not open with the HTTP/2 preface goes here.
   */
  readonly http?: http.RequestListener | undefined;
}

/** The first bytes of an HTTP/2 connection (the client preface starts `PRI * HTTP/2.0`). */
const H2_PREFACE_START = Buffer.from('PRI ');

/**
 * A gRPC server whose listening socket the mock owns: connections accepted by a plain
 * `net.Server` are handed to grpc-js. That lets a store stop (the port then refuses connections
 * and open connections drop), restart on the same port, and not hold the process open when a
 * test forgets to close its cluster.
 */
export class GrpcHost {
  readonly #server: grpc.Server;
  readonly #injector: grpc.ConnectionInjector;
  readonly #options: GrpcHostOptions;
  readonly #sockets = new Set<net.Socket>();
  readonly #http: http.Server | undefined;
  #listener: net.Server | undefined;
  #port = 0;

  constructor(services: readonly ServiceBinding[], options: GrpcHostOptions) {
    this.#options = options;
    this.#server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
      'grpc.max_send_message_length': -1,
    });
    for (const [def, handlers, responses = 'partial'] of services) {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const [key, m] of Object.entries(def.methods)) {
        const h = handlers[key];
        // grpc-js answers UNIMPLEMENTED for methods left out, which is what the mock wants for
        // the client-streaming methods it does not serve.
        if (h === undefined || (m.requestStream && !m.responseStream)) continue;
        impl[key] = m.requestStream
          ? bidiHandler(h as BidiHandler)
          : m.responseStream
            ? (serverStreamHandler(h as ServerStreamHandler) as grpc.UntypedHandleCall)
            : (unaryHandler(h as UnaryHandler) as grpc.UntypedHandleCall);
      }
      this.#server.addService(grpcDefinition(def, responses), impl);
    }
    // With TLS credentials the injector's HTTP/2 server is a secure one: each injected socket
    // goes through the TLS handshake (and the client certificate check) before gRPC sees it.
    this.#injector = this.#server.createConnectionInjector(
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
    );
    this.#http =
      options.http !== undefined && options.credentials === undefined
        ? http.createServer({ keepAlive: false }, options.http)
        : undefined;
  }

  /** Hands a new connection to gRPC, or to the HTTP server when it speaks HTTP/1.1. */
  #route(socket: net.Socket): void {
    const h1 = this.#http;
    if (h1 === undefined) {
      this.#injector.injectConnection(socket);
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      // Both servers read what is put back first (HTTP/2 sessions take the socket's buffered
      // bytes; the HTTP/1 parser gets them as 'data' once the socket flows again).
      socket.pause();
      socket.unshift(chunk);
      if (chunk.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
        this.#injector.injectConnection(socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    });
  }

  /** The port last listened on (0 before the first listen). */
  get port(): number {
    return this.#port;
  }

  /** Whether the host currently accepts connections. */
  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** Starts accepting connections on `host:port` (port 0 picks a free one); returns the port. */
  async listen(host: string, port: number): Promise<number> {
    if (this.#listener !== undefined) return this.#port;
    const listener = net.createServer((socket) => {
      socket.setNoDelay(true);
      if (this.#options.unref) socket.unref();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      this.#route(socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    if (this.#options.unref) listener.unref();
    this.#listener = listener;
    const addr = listener.address();
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : port;
    return this.#port;
  }

  /** Stops listening and drops every open connection; the port then refuses connections. */
  async stop(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (listener !== undefined) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  /** Stops and releases the gRPC server for good. */
  async close(): Promise<void> {
    await this.stop();
    this.#injector.destroy();
    this.#server.forceShutdown();
    this.#http?.close();
  }
}
