import { InvalidArgumentError as CommanderArgumentError } from 'commander';

/** A commander parser of a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
    throw new CommanderArgumentError(`expected an integer >= 1, got '${value}'`);
  }
  return n;
}

/** A commander parser of a non-negative integer option. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new CommanderArgumentError(`expected an integer >= 0, got '${value}'`);
  }
  return n;
}

/** A commander collector of a repeatable option. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
