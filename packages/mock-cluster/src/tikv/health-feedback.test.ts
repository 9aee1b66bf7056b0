// The store's health surface as TiKV serves it (src/server/service/kv.rs HealthFeedbackAttacher,
// test_health_feedback_attacher): feedback on BatchCommands responses, GetHealthFeedback, and the
// gRPC health service.

import { health, type tikvpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';
import { HealthFeedbackAttacher, HealthFeedbackSequence } from './health-feedback.js';

type Req = tikvpb.DeepPartial<tikvpb.BatchCommandsRequest>;

describe('health feedback', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 2 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('rides on the first BatchCommands response and answers GetHealthFeedback with the slow score', async () => {
    const storeId = cluster.stores()[0]!.id;
    cluster.setStoreSlowScore(storeId, 42);
    async function* msgs(): AsyncIterable<Req> {
      yield { requestIds: [1n], requests: [{ cmd: { $case: 'GetHealthFeedback', value: {} } }] };
    }
    const got: tikvpb.BatchCommandsResponse[] = [];
    for await (const m of c.kv(storeId).batchCommands(msgs())) got.push(m);
    const msg = got[0]!;
    expect(msg.healthFeedback?.storeId).toBe(storeId);
    expect(msg.healthFeedback?.slowScore).toBe(42);
    const cmd = msg.responses[0]?.cmd;
    expect(cmd?.$case).toBe('GetHealthFeedback');
    if (cmd?.$case === 'GetHealthFeedback') expect(cmd.value.healthFeedback).toEqual(msg.healthFeedback);
    const unary = await c.kv(storeId).getHealthFeedback({});
    expect(unary.healthFeedback?.slowScore).toBe(42);
    expect(unary.healthFeedback!.feedbackSeqNo).toBeGreaterThan(msg.healthFeedback!.feedbackSeqNo);
    expect(() => cluster.setStoreSlowScore(storeId, 0)).toThrow('slowScore');
  });

  it('attaches unasked feedback at most once per interval (test_health_feedback_attacher)', () => {
    const a = new HealthFeedbackAttacher(new HealthFeedbackSequence({ storeId: 1n, slowScore: () => 1 }));
    const first = a.attach([]);
    expect(first).toMatchObject({ storeId: 1n, slowScore: 1 });
    expect(a.attach([])).toBeUndefined();
    const asked = a.attach([
      { cmd: { $case: 'GetHealthFeedback', value: { regionError: undefined, healthFeedback: undefined } } },
    ]);
    expect(asked?.feedbackSeqNo).toBe(first!.feedbackSeqNo + 1n);
  });

  it('serves the gRPC health check as SERVING', async () => {
    const channel = createChannel(cluster.stores()[1]!.address);
    try {
      const client = createClient(health.HealthDefinition, channel);
      const res = await client.check({ service: '' });
      expect(res.status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      channel.close();
    }
  });
});
