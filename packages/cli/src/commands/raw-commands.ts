import { InvalidArgumentError } from '@tikv/common';
import type { KvPair } from '@tikv/raw';
import type { Command } from 'commander';
import { positiveInt } from '../cli-parsers.js';
import type { ActionFactory, CommandContext } from '../command-context.js';

/** Most pairs `raw scan` prints unless `--limit` says otherwise. */
export const DEFAULT_SCAN_LIMIT = 100;

/** Prints pairs as `key<TAB>value` lines (keys only with `keyOnly`) or a JSON array. */
export function printPairs(ctx: CommandContext, pairs: readonly KvPair[], keyOnly: boolean): void {
  const { out } = ctx;
  out.result(
    pairs.map((p) => (keyOnly ? { key: p.key } : { key: p.key, value: p.value })),
    () => pairs.map((p) => (keyOnly ? out.bytes(p.key) : `${out.bytes(p.key)}\t${out.bytes(p.value)}`)),
  );
}

/** Prints a value that may be absent. */
export function printValue(ctx: CommandContext, key: Uint8Array, value: Uint8Array | undefined): void {
  ctx.out.result({ key, found: value !== undefined, value: value ?? null }, () => [
    value === undefined ? '(not found)' : ctx.out.bytes(value),
  ]);
}

/** Prints that a write went through. */
export function printOk(ctx: CommandContext, extra: Record<string, bigint | string | number> = {}): void {
  ctx.out.result({ ok: true, ...extra }, () => [
    ['OK', ...Object.entries(extra).map(([k, v]) => `${k} ${v}`)].join(' '),
  ]);
}

interface ScanFlags {
  readonly limit: number;
  readonly reverse?: boolean;
  readonly keyOnly?: boolean;
}

/** Registers `tikv raw ...`: RawKV operations through `RawClient`. */
export function registerRawCommands(program: Command, action: ActionFactory): void {
  const raw = program.command('raw').description('RawKV operations (RawClient from @tikv/raw)');

  raw
    .command('get')
    .description('print the value of a key')
    .argument('<key>')
    .action(
      action(async (ctx, [key]) => {
        const k = ctx.bytes(key!, 'key');
        const client = await ctx.session.raw();
        printValue(ctx, k, await client.get(k, ctx.session.call));
      }),
    );

  raw
    .command('put')
    .description('write a value')
    .argument('<key>')
    .argument('<value>')
    .option('--ttl <seconds>', 'time to live (API V2)', positiveInt)
    .action(
      action<{ ttl?: number }>(async (ctx, [key, value], opts) => {
        const k = ctx.bytes(key!, 'key');
        const v = ctx.bytes(value!, 'value');
        const client = await ctx.session.raw();
        await client.put(k, v, {
          ...ctx.session.call,
          ...(opts.ttl === undefined ? {} : { ttlSeconds: opts.ttl }),
        });
        printOk(ctx);
      }),
    );

  raw
    .command('delete')
    .description('delete a key')
    .argument('<key>')
    .action(
      action(async (ctx, [key]) => {
        const k = ctx.bytes(key!, 'key');
        const client = await ctx.session.raw();
        await client.delete(k, ctx.session.call);
        printOk(ctx);
      }),
    );

  raw
    .command('scan')
    .description('print the pairs in [start, end) (an empty or missing end is unbounded)')
    .argument('<start>')
    .argument('[end]')
    .option('--limit <n>', 'most pairs', positiveInt, DEFAULT_SCAN_LIMIT)
    .option('--reverse', 'walk the range from its end down (needs an end)')
    .option('--key-only', 'keys only')
    .action(
      action<ScanFlags>(async (ctx, [start, end], opts) => {
        const s = ctx.bytes(start!, 'start');
        const e = ctx.bytes(end ?? '', 'end');
        const keyOnly = opts.keyOnly === true;
        const client = await ctx.session.raw();
        const scanOpts = { ...ctx.session.call, limit: opts.limit, keyOnly };
        let pairs: KvPair[];
        if (opts.reverse === true) {
          if (e.length === 0) throw new InvalidArgumentError('raw scan --reverse needs an end key');
          pairs = await client.reverseScan(e, s, scanOpts);
        } else {
          pairs = await client.scan(s, e, scanOpts);
        }
        printPairs(ctx, pairs, keyOnly);
      }),
    );

  raw
    .command('delete-range')
    .description('delete every key in [start, end) (an empty end is unbounded)')
    .argument('<start>')
    .argument('<end>')
    .action(
      action(async (ctx, [start, end]) => {
        const s = ctx.bytes(start!, 'start');
        const e = ctx.bytes(end!, 'end');
        const client = await ctx.session.raw();
        await client.deleteRange(s, e, ctx.session.call);
        printOk(ctx);
      }),
    );

  raw
    .command('ttl')
    .description("print a key's remaining time to live in seconds (0: none; API V2)")
    .argument('<key>')
    .action(
      action(async (ctx, [key]) => {
        const k = ctx.bytes(key!, 'key');
        const client = await ctx.session.raw();
        const ttl = await client.getKeyTTL(k, ctx.session.call);
        ctx.out.result({ key: k, found: ttl !== undefined, ttlSeconds: ttl ?? null }, () => [
          ttl === undefined ? '(not found)' : String(ttl),
        ]);
      }),
    );

  raw
    .command('cas')
    .description('compare and swap: write <new> if the value is --expect (or the key is absent, --absent)')
    .argument('<key>')
    .argument('<new>')
    .option('--expect <value>', 'the value the key must hold')
    .option('--absent', 'the key must not exist')
    .action(
      action<{ expect?: string; absent?: boolean }>(async (ctx, [key, next], opts) => {
        if ((opts.expect === undefined) === (opts.absent !== true)) {
          throw new InvalidArgumentError('raw cas needs exactly one of --expect VALUE and --absent');
        }
        const k = ctx.bytes(key!, 'key');
        const n = ctx.bytes(next!, 'new');
        const expected = opts.expect === undefined ? undefined : ctx.bytes(opts.expect, '--expect');
        const client = (await ctx.session.raw()).withAtomicForCas(true);
        const { previous, swapped } = await client.compareAndSwap(k, expected, n, ctx.session.call);
        ctx.out.result({ swapped, previous: previous ?? null }, () => [
          `${swapped ? 'swapped' : 'not swapped'}, previous ${previous === undefined ? '(not found)' : ctx.out.bytes(previous)}`,
        ]);
      }),
    );

  raw
    .command('checksum')
    .description("TiKV's checksum of [start, end): CRC-64 xor, pairs, bytes")
    .argument('<start>')
    .argument('[end]')
    .action(
      action(async (ctx, [start, end]) => {
        const s = ctx.bytes(start!, 'start');
        const e = ctx.bytes(end ?? '', 'end');
        const client = await ctx.session.raw();
        const sum = await client.checksum(s, e, ctx.session.call);
        const crc = sum.crc64Xor.toString(16).padStart(16, '0');
        ctx.out.result({ crc64Xor: crc, totalKvs: sum.totalKvs, totalBytes: sum.totalBytes }, () => [
          `crc64xor ${crc} kvs ${sum.totalKvs} bytes ${sum.totalBytes}`,
        ]);
      }),
    );
}
