import { InvalidArgumentError } from '@tikv/common';
import type { BeginOptions, Transaction } from '@tikv/txn';
import type { Command } from 'commander';
import { positiveInt } from '../cli-parsers.js';
import type { ActionFactory, CommandContext } from '../command-context.js';
import { DEFAULT_SCAN_LIMIT, printPairs, printValue } from './raw-commands.js';

interface WriteFlags {
  readonly pessimistic?: boolean;
  readonly asyncCommit?: boolean;
  readonly onePc?: boolean;
}

function beginOptions(opts: WriteFlags): BeginOptions {
  return {
    ...(opts.pessimistic === true ? { pessimistic: true } : {}),
    ...(opts.asyncCommit === true ? { asyncCommit: true } : {}),
    ...(opts.onePc === true ? { onePc: true } : {}),
  };
}

/** Runs `write` in one transaction, locking `keys` first when pessimistic, commits, prints the outcome. */
async function writeTxn(
  ctx: CommandContext,
  opts: WriteFlags,
  keys: readonly Uint8Array[],
  write: (txn: Transaction) => void,
): Promise<void> {
  const client = await ctx.session.txn();
  const txn = await client.begin(beginOptions(opts));
  try {
    if (txn.pessimistic) await txn.lockKeys(keys, ctx.session.call);
    write(txn);
    const commitTs = await txn.commit(ctx.session.call);
    ctx.out.result({ ok: true, startTs: txn.startTs, commitTs, protocol: txn.commitProtocol }, () => [
      `OK startTs ${txn.startTs} commitTs ${commitTs} (${txn.commitProtocol})`,
    ]);
  } catch (e) {
    if (txn.valid) await txn.rollback().catch(() => {});
    throw e;
  }
}

/** Runs a read in a transaction and rolls it back. */
async function readTxn<T>(ctx: CommandContext, read: (txn: Transaction) => Promise<T>): Promise<T> {
  const client = await ctx.session.txn();
  const txn = await client.begin();
  try {
    return await read(txn);
  } finally {
    await txn.rollback().catch(() => {});
  }
}

function withWriteFlags(cmd: Command): Command {
  return cmd
    .option('--pessimistic', 'a pessimistic transaction: lock the keys first')
    .option('--async-commit', 'commit with async commit')
    .option('--one-pc', 'commit in one phase when the keys share a region');
}

/** Registers `tikv txn ...`: one transaction per call through `TransactionClient`. */
export function registerTxnCommands(program: Command, action: ActionFactory): void {
  const txn = program
    .command('txn')
    .description('transactional operations, one transaction per call (TransactionClient from @tikv/txn)');

  txn
    .command('get')
    .description('print the value of a key at a fresh snapshot')
    .argument('<key>')
    .action(
      action(async (ctx, [key]) => {
        const k = ctx.bytes(key!, 'key');
        printValue(ctx, k, await readTxn(ctx, (t) => t.get(k, ctx.session.call)));
      }),
    );

  withWriteFlags(
    txn
      .command('put')
      .description('write pairs in one transaction')
      .argument('<key-value...>', 'key value [key value ...]'),
  ).action(
    action<WriteFlags>(async (ctx, args, opts) => {
      if (args.length % 2 !== 0)
        throw new InvalidArgumentError('txn put takes pairs: key value [key value ...]');
      const pairs: [Uint8Array, Uint8Array][] = [];
      for (let i = 0; i < args.length; i += 2) {
        pairs.push([ctx.bytes(args[i]!, 'key'), ctx.bytes(args[i + 1]!, 'value')]);
      }
      await writeTxn(
        ctx,
        opts,
        pairs.map(([k]) => k),
        (t) => {
          for (const [k, v] of pairs) t.put(k, v);
        },
      );
    }),
  );

  withWriteFlags(
    txn.command('delete').description('delete keys in one transaction').argument('<key...>'),
  ).action(
    action<WriteFlags>(async (ctx, args, opts) => {
      const keys = args.map((k) => ctx.bytes(k, 'key'));
      await writeTxn(ctx, opts, keys, (t) => {
        for (const k of keys) t.delete(k);
      });
    }),
  );

  txn
    .command('scan')
    .description('print the pairs in [start, end) at a fresh snapshot (an empty or missing end is unbounded)')
    .argument('<start>')
    .argument('[end]')
    .option('--limit <n>', 'most pairs', positiveInt, DEFAULT_SCAN_LIMIT)
    .option('--reverse', 'walk the range from its end down')
    .option('--key-only', 'keys only')
    .action(
      action<{ limit: number; reverse?: boolean; keyOnly?: boolean }>(async (ctx, [start, end], opts) => {
        const s = ctx.bytes(start!, 'start');
        const e = ctx.bytes(end ?? '', 'end');
        const keyOnly = opts.keyOnly === true;
        const pairs = await readTxn(ctx, (t) =>
          t.scan(s, e, { ...ctx.session.call, limit: opts.limit, reverse: opts.reverse === true, keyOnly }),
        );
        printPairs(ctx, pairs, keyOnly);
      }),
    );
}
