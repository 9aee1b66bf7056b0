import { fingerprint64 } from './fingerprint64.js';

// Expected values computed with the Rust `farmhash` 1.1.5 crate TiKV links (`fingerprint64`),
// over the bytes (i * 7 + 3) mod 256, so every length branch is covered (0-16, 17-32, 33-64, the
// 64-byte loop including lengths that are multiples of 64).
const CRATE_VALUES: [number, bigint][] = [
  [0, 11160318154034397263n],
  [1, 13745158429558087051n],
  [2, 1655114877597445365n],
  [3, 4662423180930907492n],
  [4, 17566270577251613586n],
  [7, 5759834791111993764n],
  [8, 907454142650066470n],
  [15, 3216519055487487771n],
  [16, 9140634717936656744n],
  [17, 14506534093795057959n],
  [31, 13644964512845808587n],
  [32, 11907377154618496232n],
  [33, 14001582926318596329n],
  [63, 10827710408787052188n],
  [64, 389040666157116578n],
  [65, 8638051931306504420n],
  [100, 11391788667801836296n],
  [127, 14601120872369961854n],
  [128, 402916233889390441n],
  [129, 10961879714037014659n],
  [200, 7886090686657605591n],
  [256, 14428592968771391552n],
];

describe('farmhash fingerprint64 (TiKV Key::gen_hash)', () => {
  test.each(CRATE_VALUES)('length %d', (len, want) => {
    const s = Uint8Array.from({ length: len }, (_, i) => (i * 7 + 3) & 0xff);
    expect(fingerprint64(s)).toBe(want);
  });

  test('txn-diff deadlock: the key hashes a real TiKV reported', () => {
    expect(fingerprint64(Buffer.from('txdmx5rhon2/deadlock/b'))).toBe(4904685800347149768n);
    expect(fingerprint64(Buffer.from('txdmx5rhon2/deadlock/a'))).toBe(7916677236348822856n);
  });
});
