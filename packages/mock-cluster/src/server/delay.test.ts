import { getEventListeners } from 'node:events';
import { abortableDelay } from './delay.js';

describe('abortableDelay', () => {
  it('50 delays on one store lifetime share one listener and raise no warning; an abort ends them all', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const lifetime = new AbortController();
      const delays = Array.from({ length: 50 }, () => abortableDelay(60_000, lifetime.signal));
      expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
      lifetime.abort();
      await Promise.all(delays);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('resolves after the delay and lets go of the signal', async () => {
    const lifetime = new AbortController();
    await abortableDelay(1, lifetime.signal);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    await abortableDelay(0, lifetime.signal);
    lifetime.abort();
    await abortableDelay(10_000, lifetime.signal);
  });
});
