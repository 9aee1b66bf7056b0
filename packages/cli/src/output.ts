import { type Encoding, encodeOutput } from './encoding.js';

/** A JSON-able result: bigints print as decimal strings, bytes in the output encoding. */
export type OutputValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | Uint8Array
  | readonly OutputValue[]
  | { readonly [key: string]: OutputValue | undefined };

/** Prints results as text or as one JSON document per command (`--json`). */
export class Output {
  readonly #write: (text: string) => void;
  /** Print JSON instead of text. */
  readonly json: boolean;
  /** The encoding of keys and values in the output. */
  readonly encoding: Encoding;

  /**
   * @param write - writes to standard output
   * @param json - print JSON instead of text
   * @param encoding - the encoding of keys and values
   */
  constructor(write: (text: string) => void, json: boolean, encoding: Encoding) {
    this.#write = write;
    this.json = json;
    this.encoding = encoding;
  }

  /** Bytes in the output encoding. */
  bytes(b: Uint8Array): string {
    return encodeOutput(b, this.encoding);
  }

  /**
   * Prints a command's result: `value` as JSON with `--json`, else the lines `text` makes.
   *
   * @param value - the result
   * @param text - the text form, one string per line
   */
  result(value: OutputValue, text: () => readonly string[]): void {
    if (this.json) this.#write(`${this.stringify(value)}\n`);
    else for (const line of text()) this.#write(`${line}\n`);
  }

  /** A value as JSON: bigints as strings, bytes in the output encoding. */
  stringify(value: OutputValue): string {
    const bytes = (b: Uint8Array): string => this.bytes(b);
    // The holder's own value: a Buffer's toJSON has already run on `v`.
    return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
      const own = this[k];
      if (own instanceof Uint8Array) return bytes(own);
      if (typeof v === 'bigint') return v.toString();
      return v;
    });
  }
}

/** Rows as aligned columns under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
