/**
 * One worker process of `pnpm bench peer`, seen from the driver: spawns it, sends it commands
 * and reads its answers (see `peer-protocol.ts`). Everything else the worker prints (client-go's
 * own log, say) goes to a log file, whose tail an error quotes.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ANSWER_PREFIX, type PeerAnswer, type PeerCommand } from './peer-protocol.js';

/** How long a worker may take to connect, or to set up an operation beyond its measured time. */
const SLACK_MS = 120_000;
/** How long a worker may take to exit once its stdin is closed, before it is killed. */
const EXIT_GRACE_MS = 10_000;

/** A running worker process. */
export class PeerWorkerProcess {
  readonly #name: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #log: WriteStream;
  readonly #logPath: string;
  readonly #answers: PeerAnswer[] = [];
  #waiter: (() => void) | undefined;
  #onMark: (() => void) | undefined;
  #exit: string | undefined;
  readonly #exited: Promise<void>;

  private constructor(name: string, command: string, args: readonly string[], logPath: string) {
    this.#name = name;
    this.#logPath = logPath;
    this.#log = createWriteStream(logPath);
    this.#child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#exited = once(this.#child, 'close').then(([code, signal]) => {
      this.#exit = `exited with ${signal ?? code}`;
      this.#wake();
    });
    this.#child.stderr.pipe(this.#log, { end: false });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      if (!line.startsWith(ANSWER_PREFIX)) {
        this.#log.write(`${line}\n`);
        return;
      }
      const answer = JSON.parse(line.slice(ANSWER_PREFIX.length)) as PeerAnswer;
      if (answer.mark === true) {
        this.#onMark?.();
        return;
      }
      this.#answers.push(answer);
      this.#wake();
    });
  }

  /**
   * Starts `command args` and waits for its `ready` answer.
   *
   * @param name - the worker's name in messages
   * @param logPath - where the worker's other output goes
   */
  static async start(
    name: string,
    command: string,
    args: readonly string[],
    logPath: string,
  ): Promise<PeerWorkerProcess> {
    const worker = new PeerWorkerProcess(name, command, args, logPath);
    try {
      const ready = await worker.#next(SLACK_MS);
      if (ready.ready !== true)
        throw new Error(`${name} did not start: ${ready.error ?? JSON.stringify(ready)}`);
      return worker;
    } catch (e) {
      await worker.close();
      throw e;
    }
  }

  /**
   * Runs one measurement and returns the answer; rejects on an error answer or a dead worker.
   *
   * @param onMark - called when the worker opens the measured window (after its warm-up)
   */
  async measure(command: PeerCommand, onMark?: () => void): Promise<PeerAnswer> {
    this.#onMark = onMark;
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const answer = await this.#next(command.warmupMs + command.durationMs + SLACK_MS).finally(() => {
      this.#onMark = undefined;
    });
    if (answer.error !== undefined) {
      throw new Error(`${this.#name} ${command.op} x${command.concurrency}: ${answer.error}`);
    }
    return answer;
  }

  /** Closes the worker's stdin, waits for it to exit (killing it after a grace period). */
  async close(): Promise<void> {
    this.#child.stdin.end();
    if (this.#exit === undefined) {
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), EXIT_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.#log.end(resolve));
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** The next answer, within `timeoutMs`. */
  async #next(timeoutMs: number): Promise<PeerAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = this.#answers.shift();
      if (answer !== undefined) return answer;
      if (this.#exit !== undefined) throw new Error(`${this.#name} ${this.#exit}; see ${this.#logPath}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.#name} gave no answer in ${timeoutMs} ms; see ${this.#logPath}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }
}
