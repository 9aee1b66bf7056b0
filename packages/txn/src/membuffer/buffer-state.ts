import { ArtTree } from './art-tree.js';
import { ValueLog } from './value-log.js';

/**
 * The data of one {@link MemBuffer} that its iterators and snapshots read: the key tree, the
 * value log and the counters that tell a reader what changed since it last looked.
 * Internal to the package.
 */
export class BufferState {
  readonly tree: ArtTree;
  readonly log: ValueLog;
  /** Bumped by every write: an iterator re-positions itself when it changed. */
  writeSeq = 0;
  /**
   * Bumped by every change of what a snapshot reads (client-go `SnapshotSeqNo`): a write with
   * no staging open, the release or cleanup of the outermost staging, a revert below it, a reset.
   */
  snapshotSeq = 0;
  /** Bumped by `reset`: leaf addresses from before mean nothing after. */
  generation = 0;
  /** Positions of the value log where each open staging began (client-go `stages`). */
  readonly stages: number[] = [];

  /** @param onResize - called after either arena's committed size changed */
  constructor(onResize: () => void) {
    this.tree = new ArtTree(onResize);
    this.log = new ValueLog(onResize);
  }

  /** The value-log position a snapshot reads at: the start of the outermost staging, or the tail. */
  snapshotPosition(): number {
    return this.stages.length > 0 ? this.stages[0]! : this.log.tail;
  }
}
