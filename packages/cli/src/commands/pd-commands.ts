import { dateFromTs, extractLogical, extractPhysical, InvalidArgumentError } from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { NULL_KEYSPACE_ID, type PdClient, type RegionInfo } from '@tikv/pd';
import { RegionExecutor } from '@tikv/rpc';
import { gcKeyspaceIdOf, splitRegions } from '@tikv/txn';
import type { Command } from 'commander';
import { positiveInt } from '../cli-parsers.js';
import type { ActionFactory, CommandContext } from '../command-context.js';
import { type OutputValue, table } from '../output.js';

const KEYSPACE_STATES = ['enabled', 'disabled', 'archived', 'tombstone'] as const;

/** The keyspace meta PD returns, in the fields the CLI prints. */
interface KeyspaceMetaLike {
  readonly keyspace:
    | { $case: 'id'; value: number }
    | { $case: 'keyspaceIdentity'; value: { keyspaceId: number } }
    | undefined;
  readonly name: string;
  readonly state: number;
  readonly createdAt: bigint;
  readonly stateChangedAt: bigint;
  readonly config: Readonly<Record<string, string>>;
}

function keyspaceId(meta: KeyspaceMetaLike): number {
  const k = meta.keyspace;
  if (k === undefined) return 0;
  return k.$case === 'id' ? k.value : k.value.keyspaceId;
}

function regionValue(r: RegionInfo): OutputValue {
  return {
    id: r.region.id,
    startKey: r.region.startKey,
    endKey: r.region.endKey,
    epoch: { confVer: r.region.epoch.confVer, version: r.region.epoch.version },
    leaderStoreId: r.leader?.storeId ?? null,
    peers: r.region.peers.map((p) => ({ id: p.id, storeId: p.storeId, role: p.role })),
  };
}

function printRegions(ctx: CommandContext, regions: readonly RegionInfo[]): void {
  const b = (k: Uint8Array, open: string): string => (k.length === 0 ? open : ctx.out.bytes(k));
  ctx.out.result(regions.map(regionValue), () =>
    table(
      ['id', 'start', 'end', 'leader', 'stores', 'epoch'],
      regions.map((r) => [
        String(r.region.id),
        b(r.region.startKey, '(start)'),
        b(r.region.endKey, '(end)'),
        r.leader === undefined ? '-' : String(r.leader.storeId),
        r.region.peers.map((p) => p.storeId).join(','),
        `${r.region.epoch.confVer}/${r.region.epoch.version}`,
      ]),
    ),
  );
}

async function loadKeyspace(pd: PdClient, name: string, ctx: CommandContext): Promise<KeyspaceMetaLike> {
  return (await pd.loadKeyspace(name, ctx.session.call)) as KeyspaceMetaLike;
}

/** Registers the PD commands: `tso`, `stores`, `regions`, `split`, `gc-state`, `keyspace show`. */
export function registerPdCommands(program: Command, action: ActionFactory): void {
  program
    .command('tso')
    .description('a fresh timestamp from PD')
    .action(
      action(async (ctx) => {
        const pd = await ctx.session.pd();
        const ts = await pd.getTimestamp(ctx.session.call);
        const physicalMs = extractPhysical(ts);
        const logical = extractLogical(ts);
        const time = dateFromTs(ts).toISOString();
        ctx.out.result({ ts, physicalMs, logical, time }, () => [
          `${ts} (physical ${physicalMs} = ${time}, logical ${logical})`,
        ]);
      }),
    );

  program
    .command('stores')
    .description('the stores PD knows')
    .action(
      action(async (ctx) => {
        const pd = await ctx.session.pd();
        const stores = await pd.getAllStores(ctx.session.call);
        ctx.out.result(
          stores.map((s) => ({
            id: s.id,
            address: s.address,
            state: s.state,
            nodeState: s.nodeState,
            version: s.version,
            labels: Object.fromEntries(s.labels.map((l) => [l.key, l.value])),
          })),
          () =>
            table(
              ['id', 'address', 'state', 'version', 'labels'],
              stores.map((s) => [
                String(s.id),
                s.address,
                s.state,
                s.version,
                s.labels.map((l) => `${l.key}=${l.value}`).join(','),
              ]),
            ),
        );
      }),
    );

  program
    .command('regions')
    .description('the region of a key, or the regions of a range (default: all)')
    .option('--key <key>', 'the region holding this key')
    .option('--range <bounds...>', 'the regions covering [start, end) (an empty end is unbounded)')
    .option('--limit <n>', 'most regions', positiveInt, 1000)
    .option('--txn', 'keys in the transactional key space (region keys differ in API V1 and V2)')
    .action(
      action<{ key?: string; range?: string[]; limit: number; txn?: boolean }>(async (ctx, _args, opts) => {
        if (opts.key !== undefined && opts.range !== undefined) {
          throw new InvalidArgumentError('regions takes --key or --range, not both');
        }
        if (opts.range !== undefined && (opts.range.length < 1 || opts.range.length > 2)) {
          throw new InvalidArgumentError('--range takes a start and an optional end');
        }
        const conn = await ctx.session.cluster(opts.txn === true ? KeyMode.TXN : KeyMode.RAW);
        if (opts.key !== undefined) {
          const region = await conn.pd.getRegion(ctx.bytes(opts.key, '--key'), ctx.session.call);
          printRegions(ctx, region === undefined ? [] : [region]);
          return;
        }
        const start = ctx.bytes(opts.range?.[0] ?? '', 'range start');
        const end = ctx.bytes(opts.range?.[1] ?? '', 'range end');
        printRegions(ctx, await conn.pd.scanRegions(start, end, opts.limit, ctx.session.call));
      }),
    );

  program
    .command('split')
    .description('split regions at keys (through TiKV)')
    .argument('<key...>')
    .option('--txn', 'keys in the transactional key space')
    .option('--scatter', 'ask PD to scatter the new regions')
    .action(
      action<{ txn?: boolean; scatter?: boolean }>(async (ctx, args, opts) => {
        const keys = args.map((k) => ctx.bytes(k, 'key'));
        const conn = await ctx.session.cluster(opts.txn === true ? KeyMode.TXN : KeyMode.RAW);
        const executor = new RegionExecutor({ sender: conn.sender, locator: conn.regionCache });
        const r = await splitRegions({ executor, pd: conn.pd }, keys, {
          ...ctx.session.call,
          scatter: opts.scatter === true,
        });
        ctx.out.result({ regionIds: r.regionIds, scatterFailedRegionIds: r.scatterFailedRegionIds }, () => [
          `new regions: ${r.regionIds.length === 0 ? '(none)' : r.regionIds.join(', ')}`,
        ]);
      }),
    );

  program
    .command('gc-state')
    .description(
      "the GC state (txn and GC safe points, barriers) of the cluster, or of --keyspace's GC scope",
    )
    .action(
      action(async (ctx) => {
        const pd = await ctx.session.pd();
        const name = ctx.options.keyspace;
        let id = NULL_KEYSPACE_ID;
        if (name !== undefined) {
          const meta = await loadKeyspace(pd, name, ctx);
          id = gcKeyspaceIdOf({ id: keyspaceId(meta), config: meta.config });
        }
        const st = await pd.gcStates(id).getGcState({ ...ctx.session.call, includeGlobalGcBarriers: true });
        const barrier = (b: { barrierId: string; barrierTs: bigint }) => ({
          id: b.barrierId,
          ts: b.barrierTs,
        });
        const barriers = st.barriers.map(barrier);
        const globalBarriers = (st.globalBarriers ?? []).map(barrier);
        ctx.out.result(
          {
            keyspaceId: st.keyspaceId === NULL_KEYSPACE_ID ? null : st.keyspaceId,
            keyspaceLevelGc: st.isKeyspaceLevelGc,
            txnSafePoint: st.txnSafePoint,
            gcSafePoint: st.gcSafePoint,
            barriers,
            globalBarriers,
          },
          () => [
            `scope: ${st.keyspaceId === NULL_KEYSPACE_ID ? 'unified' : `keyspace ${st.keyspaceId}`}`,
            `txn safe point: ${st.txnSafePoint}`,
            `gc safe point: ${st.gcSafePoint}`,
            `barriers: ${barriers.length === 0 ? '(none)' : barriers.map((b) => `${b.id}@${b.ts}`).join(', ')}`,
            `global barriers: ${globalBarriers.length === 0 ? '(none)' : globalBarriers.map((b) => `${b.id}@${b.ts}`).join(', ')}`,
          ],
        );
      }),
    );

  program
    .command('keyspace')
    .description('keyspace metadata')
    .command('show')
    .description("a keyspace's id, state and config")
    .argument('<name>')
    .action(
      action(async (ctx, [name]) => {
        const pd = await ctx.session.pd();
        const meta = await loadKeyspace(pd, name!, ctx);
        const state = KEYSPACE_STATES[meta.state] ?? `unknown(${meta.state})`;
        const id = keyspaceId(meta);
        ctx.out.result(
          {
            id,
            name: meta.name,
            state,
            createdAt: meta.createdAt,
            stateChangedAt: meta.stateChangedAt,
            config: { ...meta.config },
          },
          () => [
            `keyspace ${meta.name}: id ${id}, ${state}`,
            ...Object.entries(meta.config).map(([k, v]) => `  ${k} = ${v}`),
          ],
        );
      }),
    );
}
