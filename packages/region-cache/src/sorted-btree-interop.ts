import * as btreeModule from 'sorted-btree';

/** The sorted-btree `BTree` class type. @internal */
export type BTree<K, V> = btreeModule.default<K, V>;

type BTreeConstructor = new <K, V>(
  entries?: [K, V][],
  compare?: (a: K, b: K) => number,
  maxNodeSize?: number,
) => BTree<K, V>;

let ctor: BTreeConstructor | undefined;

/**
 * sorted-btree is CommonJS with `exports.default`: under CommonJS interop the
 * namespace's `default` is the class, under Node's ESM loader it is
 * `module.exports` whose `default` is the class. Resolved on first use.
 */
function btreeConstructor(): BTreeConstructor {
  if (ctor === undefined) {
    const d: unknown = (btreeModule as unknown as { readonly default: unknown }).default;
    ctor = (typeof d === 'function' ? d : (d as { readonly default: unknown }).default) as BTreeConstructor;
  }
  return ctor;
}

/**
 * Creates an empty B+ tree ordered by `compare`.
 *
 * @internal
 */
export function createBTree<K, V>(compare: (a: K, b: K) => number, maxNodeSize?: number): BTree<K, V> {
  const Ctor = btreeConstructor();
  return new Ctor<K, V>(undefined, compare, maxNodeSize);
}
