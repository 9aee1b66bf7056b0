import { raceSignal } from './race-signal.js';

describe('raceSignal', () => {
  test('without a signal it is the promise itself', async () => {
    const p = Promise.resolve(1);
    expect(raceSignal(p, undefined)).toBe(p);
  });

  test('an already aborted signal rejects with its reason', async () => {
    await expect(raceSignal(new Promise(() => {}), AbortSignal.abort('gone'))).rejects.toBe('gone');
  });

  test('an abort during the wait rejects with the reason and leaves the work running', async () => {
    const ac = new AbortController();
    let finish!: (v: number) => void;
    const work = new Promise<number>((r) => {
      finish = r;
    });
    const raced = raceSignal(work, ac.signal);
    ac.abort(new Error('stop'));
    await expect(raced).rejects.toThrow('stop');
    finish(7);
    await expect(work).resolves.toBe(7);
  });

  test('the promise outcome wins when it settles first, and the listener is removed', async () => {
    const ac = new AbortController();
    await expect(raceSignal(Promise.resolve('ok'), ac.signal)).resolves.toBe('ok');
    await expect(raceSignal(Promise.reject(new Error('bad')), ac.signal)).rejects.toThrow('bad');
    ac.abort();
  });
});
