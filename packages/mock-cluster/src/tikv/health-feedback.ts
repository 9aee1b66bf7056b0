import { health, type kvrpcpb, type tikvpb } from '@tikv/proto';
import type { ServiceHandlers } from '../server/grpc-host.js';

/** How often a `BatchCommands` stream carries health feedback unasked (TiKV `server.health-feedback-interval`). */
export const HEALTH_FEEDBACK_INTERVAL_MS = 1_000;

/** What feedback is built from: the store and its current slow score. */
export interface HealthFeedbackSource {
  readonly storeId: bigint;
  slowScore(): number;
}

/**
 * Numbers and builds a store's health feedback (TiKV `HealthFeedbackAttacher`'s
 * `gen_health_feedback_pb`). One per store: the sequence is shared by its streams and its
 * unary `GetHealthFeedback`, starting at the store's start time in seconds as TiKV's does.
 */
export class HealthFeedbackSequence {
  #seq = BigInt(Math.floor(Date.now() / 1000));

  constructor(private readonly source: HealthFeedbackSource) {}

  /** A new feedback message. */
  next(): kvrpcpb.HealthFeedback {
    const seq = this.#seq;
    this.#seq += 1n;
    return { storeId: this.source.storeId, feedbackSeqNo: seq, slowScore: this.source.slowScore() };
  }
}

/**
 * Attaches feedback to one stream's response messages as TiKV does: always when the message
 * answers a `GetHealthFeedback` (whose responses carry the same feedback), otherwise at most once
 * per {@link HEALTH_FEEDBACK_INTERVAL_MS}.
 */
export class HealthFeedbackAttacher {
  #lastMs: number | undefined;

  constructor(private readonly seq: HealthFeedbackSequence) {}

  /** The feedback to put on a message holding `responses`, or undefined. */
  attach(responses: readonly tikvpb.BatchCommandsResponse_Response[]): kvrpcpb.HealthFeedback | undefined {
    let requested: kvrpcpb.HealthFeedback | undefined;
    for (const r of responses) {
      if (r.cmd?.$case !== 'GetHealthFeedback') continue;
      requested ??= this.seq.next();
      r.cmd.value.healthFeedback = requested;
    }
    const now = Date.now();
    if (requested !== undefined) {
      this.#lastMs = now;
      return requested;
    }
    if (this.#lastMs !== undefined && now - this.#lastMs < HEALTH_FEEDBACK_INTERVAL_MS) return undefined;
    this.#lastMs = now;
    return this.seq.next();
  }
}

/** The gRPC health service every store serves (TiKV registers it): always SERVING while up. */
export const HEALTH_HANDLERS: ServiceHandlers = Object.freeze({
  check: () => ({ status: health.HealthCheckResponse_ServingStatus.SERVING }),
  watch: async function* () {
    yield { status: health.HealthCheckResponse_ServingStatus.SERVING };
  },
});
