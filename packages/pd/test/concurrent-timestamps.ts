// Concurrent TSO callers, as several PD client tests run them.
import type { PdClient } from '../src/pd-client.js';

/**
 * Runs `callers` concurrent callers that each take `each` timestamps one after the other,
 * expects every caller's timestamps to increase, and returns them all.
 *
 * @param client - the client under test
 * @param callers - how many callers run at once
 * @param each - how many timestamps each caller takes
 * @returns every timestamp taken, in no particular order
 */
export async function concurrentTimestamps(
  client: PdClient,
  callers: number,
  each: number,
): Promise<bigint[]> {
  const all: bigint[] = [];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      let last = -1n;
      for (let i = 0; i < each; i++) {
        const ts = await client.getTimestamp();
        expect(ts > last).toBe(true);
        last = ts;
        all.push(ts);
      }
    }),
  );
  return all;
}
