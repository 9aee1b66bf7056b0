import { type Client, Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { tikvpb } from '@tikv/proto';
import type { BatchStreamHandlers, BatchStreamSink } from './batch-commands-stream.js';
import { decodeBatchResponse } from './batch-response-decoding.js';

/** The full gRPC path of `tikvpb.Tikv/BatchCommands`. */
const BATCH_COMMANDS_PATH = `/${tikvpb.TikvDefinition.fullName}/${tikvpb.TikvDefinition.methods.batchCommands.name}`;

/** Metadata key naming the store a request is forwarded to (client-go `forwardMetadataKey`). */
export const FORWARD_METADATA_KEY = 'tikv-forwarded-host';
/** Metadata key carrying the connection index of a stream (client-go `batchConnIdxMetadataKey`). */
export const BATCH_CONN_INDEX_METADATA_KEY = 'tikv-batch-conn-index';

function serialize(request: Buffer): Buffer {
  return request;
}

function deserialize(bytes: Buffer): tikvpb.BatchCommandsResponse {
  return decodeBatchResponse(bytes);
}

/**
 * Opens a `BatchCommands` bidirectional stream with grpc-js directly (no async iterables on the
 * hot path): messages are encoded with the ts-proto codecs, responses delivered as they arrive.
 *
 * @param client - a grpc-js client over the connection's channel
 * @param connectionIndex - the connection's index, sent as metadata
 * @param forwardedHost - the forwarded host ('' for none), sent as metadata
 * @param handlers - receives responses and the end of the stream
 * @returns the sending half
 */
export function openGrpcBatchStream(
  client: Client,
  connectionIndex: number,
  forwardedHost: string,
  handlers: BatchStreamHandlers,
): BatchStreamSink {
  const metadata = new Metadata();
  metadata.set(BATCH_CONN_INDEX_METADATA_KEY, String(connectionIndex));
  if (forwardedHost !== '') metadata.set(FORWARD_METADATA_KEY, forwardedHost);
  const call = client.makeBidiStreamRequest(BATCH_COMMANDS_PATH, serialize, deserialize, metadata, {});
  let cancelled = false;
  call.on('data', (response: tikvpb.BatchCommandsResponse) => {
    if (!cancelled) handlers.onResponse(response);
  });
  call.on('error', (error: ServiceError) => {
    if (!cancelled) handlers.onBroken(error);
  });
  call.on('status', (s: StatusObject) => {
    // A non-OK status also arrives as 'error'; an OK one means the server ended the stream.
    if (!cancelled && s.code === status.OK) {
      handlers.onBroken({ code: status.UNAVAILABLE, details: 'the server ended the BatchCommands stream' });
    }
  });
  return {
    write(request) {
      call.write(request);
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      call.cancel();
    },
  };
}
