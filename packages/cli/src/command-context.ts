import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import { decodeInput } from './encoding.js';
import { type GlobalOptions, type RawGlobalFlags, resolveGlobalOptions } from './global-options.js';
import { Output } from './output.js';
import { Session } from './session.js';
import { printRetries } from './verbose.js';

/** The output flags a command also takes after its name (`tikv raw get k --json`). */
export const OUTPUT_FLAGS = ['json', 'hex', 'base64', 'verbose'] as const;

/**
 * The global flags of a command: the program's, with the output flags given after the command
 * (a command's own options, such as `regions --key`, never shadow a global one).
 */
function globalFlags(cmd: Command): RawGlobalFlags {
  let root = cmd;
  while (root.parent !== null) root = root.parent;
  const flags: Record<string, unknown> = { ...root.opts() };
  const own = cmd.opts<Record<string, unknown>>();
  for (const f of OUTPUT_FLAGS) if (own[f] !== undefined) flags[f] = own[f];
  return flags as RawGlobalFlags;
}

/** What a command's action runs with. */
export interface CommandContext {
  readonly options: GlobalOptions;
  readonly session: Session;
  readonly out: Output;
  readonly io: CliIo;
  /** A key or value argument's bytes, in the input encoding. */
  bytes(text: string, what: string): Uint8Array;
}

/** A command's body: its positional arguments and its own options. */
export type CommandBody<O> = (ctx: CommandContext, args: string[], opts: O) => Promise<void>;

/** Turns command bodies into commander actions that share the io. */
export type ActionFactory = <O>(body: CommandBody<O>) => (...all: unknown[]) => Promise<void>;

/**
 * Makes commander actions: each resolves the global flags, opens a {@link Session}, prints
 * retries with `--verbose`, runs the body and closes everything, even on failure.
 *
 * @param io - the process's streams and environment
 */
export function actionFactory(io: CliIo): ActionFactory {
  return <O>(body: CommandBody<O>) =>
    async (...all: unknown[]): Promise<void> => {
      const cmd = all[all.length - 1] as Command;
      const opts = all[all.length - 2] as O;
      const args = all.slice(0, -2).flatMap((a) => (Array.isArray(a) ? (a as string[]) : [a as string]));
      const options = resolveGlobalOptions(globalFlags(cmd), io.env);
      const session = new Session(options);
      const stopVerbose = options.verbose ? printRetries((line) => io.stderr(line)) : undefined;
      const ctx: CommandContext = {
        options,
        session,
        out: new Output((t) => io.stdout(t), options.json, options.encoding),
        io,
        bytes: (text, what) => decodeInput(text, options.encoding, what),
      };
      try {
        await body(ctx, args, opts);
      } finally {
        stopVerbose?.();
        await session.close();
      }
    };
}
