import { tikvpb } from '@tikv/proto';
import { isBatchCommand, UNARY_ONLY_COMMANDS, unaryMethodOf } from './tikv-commands.js';

describe('TiKV commands (client-go tikvrpc.ToBatchCommandsRequest)', () => {
  it('batches what client-go batches', () => {
    for (const c of [
      'Get',
      'Scan',
      'Prewrite',
      'Commit',
      'BatchGet',
      'RawGet',
      'RawPut',
      'RawBatchPut',
      'RawScan',
      'Coprocessor',
      'PessimisticLock',
      'CheckTxnStatus',
      'Flush',
      'BufferBatchGet',
      'Empty',
    ]) {
      expect(isBatchCommand(c)).toBe(true);
    }
    for (const c of [
      'Import',
      'RawBatchScan',
      'RawCoprocessor',
      'RawGetKeyTTL',
      'RawCompareAndSwap',
      'RawChecksum',
      'SplitRegion',
      'Nope',
    ]) {
      expect(isBatchCommand(c)).toBe(false);
    }
  });

  it('maps every command to a real unary method (Empty has none)', () => {
    const methods = tikvpb.TikvDefinition.methods as Record<
      string,
      { requestStream: boolean; responseStream: boolean }
    >;
    for (const c of [
      'Get',
      'PessimisticRollback',
      'RawGet',
      'GetHealthFeedback',
      ...Object.keys(UNARY_ONLY_COMMANDS),
    ] as const) {
      const m = unaryMethodOf(c as never);
      expect(m).toBeDefined();
      expect(methods[m as string]).toMatchObject({ requestStream: false, responseStream: false });
    }
    expect(unaryMethodOf('PessimisticRollback')).toBe('kVPessimisticRollback');
    expect(unaryMethodOf('Empty')).toBeUndefined();
  });
});
