import { toBytes as b } from '@tikv/common';
import { peerFromPb, regionMetaFromPb } from './wire.js';

describe('wire conversions', () => {
  test('a peer keeps its role by name; a region its epoch and peers', () => {
    const peer = peerFromPb({ id: 5n, storeId: 2n, role: 1, isWitness: false });
    expect(peer.role).toBe('learner');
    const meta = regionMetaFromPb({
      id: 3n,
      startKey: b('a'),
      endKey: b('b'),
      regionEpoch: { confVer: 4n, version: 6n },
      peers: [{ id: 5n, storeId: 2n, role: 0, isWitness: false }],
      encryptionMeta: undefined,
      isInFlashback: false,
      flashbackStartTs: 0n,
    });
    expect(meta.epoch).toEqual({ confVer: 4n, version: 6n });
    expect(meta.peers.map((p) => p.role)).toEqual(['voter']);
  });
});
