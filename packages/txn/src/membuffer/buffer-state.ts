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
  /** Set by `discardValues` (until `reset`): the value log is gone. */
  valuesDiscarded = false;
  /** Positions of the value log where each open staging began (client-go `stages`). */
  readonly stages: number[] = [];
  /**
   * An id per open staging, parallel to {@link stages}: a snapshot taken at a staging reads while
   * its id is still there (a revert below a staging gives it a new id).
   */
  readonly stageIds: number[] = [];
  #nextStageId = 1;

  /** @param onResize - called after either arena's committed size changed */
  constructor(onResize: () => void) {
    this.tree = new ArtTree(onResize);
    this.log = new ValueLog(onResize);
  }

  /** Opens a staging at the log's tail; returns its handle. */
  openStage(): number {
    this.stages.push(this.log.tail);
    this.stageIds.push(this.#nextStageId++);
    return this.stages.length;
  }

  /** Closes the newest staging. */
  closeStage(): void {
    this.stages.pop();
    this.stageIds.pop();
  }

  /** Closes every staging. */
  clearStages(): void {
    this.stages.length = 0;
    this.stageIds.length = 0;
  }

  /** Gives every open staging that began above `position` a new id: what it began with was rolled back. */
  renewStagesAbove(position: number): void {
    for (let i = 0; i < this.stages.length; i++) {
      if (this.stages[i]! > position) this.stageIds[i] = this.#nextStageId++;
    }
  }
}
