import { Command, CommanderError, Option } from 'commander';
import type { CliIo } from './cli-io.js';
import { collect, positiveInt } from './cli-parsers.js';
import { actionFactory } from './command-context.js';
import { registerBenchCommand } from './commands/bench-command.js';
import { registerMockCommand } from './commands/mock-command.js';
import { registerPdCommands } from './commands/pd-commands.js';
import { registerRawCommands } from './commands/raw-commands.js';
import { registerTxnCommands } from './commands/txn-commands.js';
import { errorLine } from './error-line.js';
import { DEFAULT_CLI_TIMEOUT_MS } from './global-options.js';

/** The command's name. */
export const CLI_NAME = 'tikv';

/** Exit status of a command line that cannot run (unknown command or flag, bad value). */
export const EXIT_USAGE = 2;
/** Exit status of a command that failed. */
export const EXIT_FAILURE = 1;

const LEAF_FLAGS = [
  { flags: '--json', description: 'print results as JSON' },
  { flags: '--hex', description: 'keys and values are hexadecimal' },
  { flags: '--base64', description: 'keys and values are base64' },
  { flags: '--verbose', description: 'print retries and backoffs' },
] as const;

function leaves(cmd: Command): Command[] {
  if (cmd.commands.length === 0) return [cmd];
  cmd.exitOverride();
  return cmd.commands.flatMap(leaves);
}

/** The `tikv` program: its global flags and every command. */
export function buildProgram(io: CliIo): Command {
  const program = new Command(CLI_NAME)
    .description(
      'TiKV from the command line: RawKV, transactions, PD inspection, a benchmark, a mock cluster',
    )
    .option(
      '--pd <host:port>',
      'a PD endpoint (repeatable, or comma separated; default: $TIKV_PD_ENDPOINTS)',
      collect,
    )
    .addOption(new Option('--api-version <version>', "the cluster's API version").choices(['1', '2']))
    .option('--keyspace <name>', 'API V2 keyspace (implies --api-version 2)')
    .option('--ca <file>', 'CA certificate (PEM) to check PD and TiKV against')
    .option('--cert <file>', 'client certificate (PEM) for mutual TLS')
    .option('--key <file>', 'client private key (PEM) for mutual TLS')
    .option('--embedded', 'start an in-process mock cluster on loopback for this command')
    .option('--json', 'print results as JSON')
    .option('--hex', 'keys and values are hexadecimal, in and out')
    .option('--base64', 'keys and values are base64, in and out')
    .option('--verbose', 'print request retries and backoffs to stderr')
    .option(
      '--timeout-ms <ms>',
      'bound of connecting and of each operation',
      positiveInt,
      DEFAULT_CLI_TIMEOUT_MS,
    )
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: () => {},
    });
  const action = actionFactory(io);
  registerRawCommands(program, action);
  registerTxnCommands(program, action);
  registerPdCommands(program, action);
  registerMockCommand(program, action);
  registerBenchCommand(program, action);
  for (const leaf of leaves(program)) {
    leaf.exitOverride();
    // The output flags also work after the command (`tikv raw get k --json`); the others go
    // before it, where `--key` is the TLS key and not `regions --key`.
    for (const flag of LEAF_FLAGS) leaf.addOption(new Option(flag.flags, flag.description).hideHelp());
  }
  return program;
}

/**
 * Runs the `tikv` command line and resolves with its exit status: 0, {@link EXIT_FAILURE} after
 * printing `error CODE: message` for a failed command, {@link EXIT_USAGE} for a command line
 * that cannot run. Never exits the process.
 *
 * @param argv - the arguments after the program name
 * @param io - streams, environment and the stop signal
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      const message = e.message.replace(/^error: /, '');
      io.stderr(`error INVALID_ARGUMENT: ${message.split('\n')[0]}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`${errorLine(e)}\n`);
    return EXIT_FAILURE;
  }
}
