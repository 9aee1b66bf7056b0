import { type CliIo, runCli } from '../src/index.js';

/** What one in-process run of the command printed, and its exit status. */
export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a `tikv` command line in-process with buffered streams. */
export async function tikv(
  argv: readonly string[],
  options: { env?: Record<string, string>; stopSignal?: AbortSignal; onStdout?: (text: string) => void } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
      options.onStdout?.(t);
    },
    stderr: (t) => {
      stderr += t;
    },
    env: options.env ?? {},
    stderrIsTty: false,
    stopSignal: options.stopSignal ?? new AbortController().signal,
  };
  const status = await runCli(argv, io);
  return { status, stdout, stderr };
}

/** Runs a command that must succeed and returns its JSON output. */
export async function tikvJson(argv: readonly string[]): Promise<unknown> {
  const r = await tikv(['--json', ...argv]);
  if (r.status !== 0) throw new Error(`tikv ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
