import type { MockCluster } from '@tikv/mock-cluster';

/** UTF-8 decoder of the tour's output. */
export const text = new TextDecoder();

/** A value as the tour prints it. */
export const show = (v: Uint8Array | undefined): string =>
  v === undefined ? 'undefined' : JSON.stringify(text.decode(v));

/** Prints a step's heading. */
export const step = (n: number, what: string): void => console.log(`\n${n}. ${what}`);

/** What every part of the tour knows about where it runs. */
export interface TourContext {
  /** The embedded cluster, when the tour started one. */
  readonly cluster: MockCluster | undefined;
  readonly apiVersion: 'V1' | 'V2';
}
