/** The client-go checkout used when neither the caller nor `CLIENT_GO_GIT` names one. */
export declare const DEFAULT_CLIENT_GO_GIT: string;

/** Options of {@link buildClientGoProgram}. */
export interface BuildClientGoProgramOptions {
  /** The program's folder, module path (`tikv-client-ts/<name>`) and binary name. */
  readonly name: string;
  /** The folder holding the program's `.go` files. */
  readonly sourceDir: string;
  /** The client-go git checkout; default `CLIENT_GO_GIT` or {@link DEFAULT_CLIENT_GO_GIT}. */
  readonly checkout?: string;
  /** Progress lines; default `console.log`. */
  readonly log?: (line: string) => void;
}

/** A built program, or why it cannot be built on this machine. */
export type ClientGoProgram =
  | { readonly built: true; readonly bin: string; readonly workDir: string; readonly commit: string }
  | { readonly built: false; readonly reason: string };

/**
 * Builds a Go program against client-go extracted from a local checkout (through a `replace`
 * written at build time). Resolves `built: false` with a reason when Go, the checkout or the
 * modules are missing; throws when the program does not compile.
 */
export declare function buildClientGoProgram(options: BuildClientGoProgramOptions): ClientGoProgram;
