import { DeadlineExceededError, isTiKVError, ManualClock } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { BatchEntry, type EntryHolder } from './batch-entry.js';
import type { BatchRequestCmd, BatchResponseCmd } from './tikv-commands.js';

const cmd: BatchRequestCmd = {
  $case: 'RawGet',
  value: kvrpcpb.RawGetRequest.fromPartial({ key: Buffer.from('k') }),
};
const response: BatchResponseCmd = { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({}) };

/** A stream that records the ids it was told to forget. */
class Holder implements EntryHolder {
  readonly dropped: number[] = [];
  drop(id: number): void {
    this.dropped.push(id);
  }
}

function sentEntry(clock: ManualClock, signal: AbortSignal | undefined, timeoutMs: number) {
  const entry = new BatchEntry(cmd, new Uint8Array([1]), '', clock, signal, timeoutMs);
  const holder = new Holder();
  entry.id = 7;
  entry.holder = holder;
  entry.sent = true;
  return { entry, holder };
}

describe('BatchEntry (client-go batchCommandsEntry)', () => {
  test('its own timeout runs on the transport clock, names the command and drops the id', async () => {
    const clock = new ManualClock();
    const { entry, holder } = sentEntry(clock, undefined, 500);
    clock.advance(499);
    expect(entry.settled).toBe(false);
    clock.advance(1);
    const err: unknown = await entry.promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect((err as Error).message).toBe('RawGet request timed out after 500ms');
    expect(holder.dropped).toEqual([7]);
    entry.complete(response); // a late response changes nothing
    expect(holder.dropped).toEqual([7]);
  });

  test("the caller's abort rejects with its reason, drops the id and clears the timer", async () => {
    const clock = new ManualClock();
    const c = new AbortController();
    const { entry, holder } = sentEntry(clock, c.signal, 500);
    c.abort('caller left');
    await expect(entry.promise).rejects.toBe('caller left');
    expect(holder.dropped).toEqual([7]);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('a response settles it once and leaves no timer; no timeout (NaN, negative) arms none', async () => {
    const clock = new ManualClock();
    const { entry, holder } = sentEntry(clock, undefined, 500);
    entry.complete(response);
    entry.fail(new Error('stream broke later'));
    await expect(entry.promise).resolves.toBe(response);
    expect(holder.dropped).toEqual([]);
    expect(clock.pendingSleeps).toBe(0);
    const untimed = new BatchEntry(cmd, new Uint8Array([1]), '', clock, undefined, Number.NaN);
    const negative = new BatchEntry(cmd, new Uint8Array([1]), '', clock, undefined, -1);
    expect(untimed.timeoutMs).toBeUndefined();
    expect(negative.timeoutMs).toBeUndefined();
    expect(clock.pendingSleeps).toBe(0);
    untimed.fail('x');
    negative.fail('y');
    await expect(untimed.promise).rejects.toBe('x');
    await expect(negative.promise).rejects.toBe('y');
  });

  test('a queued entry (never sent) that fails has no id to drop', async () => {
    const clock = new ManualClock();
    const entry = new BatchEntry(cmd, new Uint8Array([1]), '', clock, undefined, 10);
    clock.advance(10);
    await expect(entry.promise).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(entry.settled).toBe(true);
  });
});
