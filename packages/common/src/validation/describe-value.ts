/**
 * Describes what a caller passed, for an `InvalidArgumentError` message: its type and, for
 * numbers and booleans, its value (`number 5`, `null`, `array of length 3`). Strings and bytes
 * are described by length only: they may be keys or values, which messages never carry.
 *
 * @param value - anything
 * @returns a short description
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'bigint':
      return `bigint ${value}n`;
    case 'string':
      return `string of length ${value.length}`;
    case 'symbol':
      return 'symbol';
    case 'function':
      return value.name === '' ? 'function' : `function ${value.name}`;
    default:
      break;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? `${ctor} object` : 'object';
}
