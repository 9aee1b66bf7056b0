import { InvalidArgumentError } from '@tikv/common';
import type { pdpb } from '@tikv/proto';

/** One PD member of a mock cluster, as the handle reports it. */
export interface PdMemberInfo {
  /** Position in `pdEndpoints`. */
  readonly index: number;
  readonly name: string;
  readonly memberId: bigint;
  /** `host:port`, as listed in `pdEndpoints`. */
  readonly address: string;
  /** The client URL PD advertises: `http://host:port`, or `https://` with TLS. */
  readonly clientUrl: string;
  /** Whether the member accepts connections. */
  readonly running: boolean;
  /** Whether the member is PD's leader. */
  readonly leader: boolean;
}

interface Member {
  readonly name: string;
  readonly memberId: bigint;
  port: number;
  running: boolean;
}

/** Member ids start here ("mock" in ASCII), one apart. */
const FIRST_MEMBER_ID = 0x6d6f636bn;

/**
 * The membership of the mock's PD: members, which run, and which one leads. Every member serves
 * the same state (as PD members share etcd); only the leader serves what PD serves only on its
 * leader. Leadership moves at once when asked, or when the leader stops (PD waits for the
 * leader's lease to run out; the mock has no lease).
 */
export class PdMembership {
  readonly #members: Member[];
  readonly #host: string;
  readonly #scheme: 'http' | 'https';
  #leader: number | undefined = 0;

  constructor(options: { readonly count: number; readonly host: string; readonly tls: boolean }) {
    this.#host = options.host;
    this.#scheme = options.tls ? 'https' : 'http';
    this.#members = Array.from({ length: options.count }, (_, i) => ({
      name: `pd-${i + 1}`,
      memberId: FIRST_MEMBER_ID + BigInt(i),
      port: 0,
      running: true,
    }));
  }

  /** Number of members. */
  get size(): number {
    return this.#members.length;
  }

  /** The leader's index; undefined when no member runs. */
  get leaderIndex(): number | undefined {
    return this.#leader;
  }

  #member(i: number): Member {
    const m = this.#members[i];
    if (m === undefined)
      throw new InvalidArgumentError(`PD member ${i} does not exist (0..${this.#members.length - 1})`);
    return m;
  }

  /** Records the port a member listens on. */
  setPort(i: number, port: number): void {
    this.#member(i).port = port;
  }

  /** `host:port` of a member. */
  address(i: number): string {
    return `${this.#host}:${this.#member(i).port}`;
  }

  /** The client URL a member advertises. */
  clientUrl(i: number): string {
    return `${this.#scheme}://${this.address(i)}`;
  }

  /** Whether member `i` leads. */
  isLeader(i: number): boolean {
    return this.#leader === i;
  }

  /** Whether member `i` accepts connections. */
  isRunning(i: number): boolean {
    return this.#member(i).running;
  }

  /** Moves leadership to a running member. */
  transfer(i: number): void {
    if (!this.#member(i).running) throw new InvalidArgumentError(`PD member ${i} is stopped and cannot lead`);
    this.#leader = i;
  }

  /** Marks a member stopped; a stopped leader hands leadership to the next running member. */
  markStopped(i: number): void {
    this.#member(i).running = false;
    if (this.#leader !== i) return;
    this.#leader = undefined;
    for (let k = 1; k < this.#members.length; k++) {
      const next = (i + k) % this.#members.length;
      if (this.#member(next).running) {
        this.#leader = next;
        return;
      }
    }
  }

  /** Marks a member running again; it leads only when no other member does. */
  markStarted(i: number): void {
    this.#member(i).running = true;
    this.#leader ??= i;
  }

  /**
   * Whether a `pd-forwarded-host` value is the leader's client URL (PD compares the URLs after an
   * `http://` or `https://` scheme, which both must have).
   */
  isLeaderUrl(url: string): boolean {
    return this.#leader !== undefined && this.isOwnUrl(this.#leader, url);
  }

  /** Whether a URL is member `i`'s client URL (scheme aside). */
  isOwnUrl(i: number, url: string): boolean {
    return withoutScheme(url) === this.address(i);
  }

  /** What the handle reports. */
  info(): PdMemberInfo[] {
    return this.#members.map((m, i) => ({
      index: i,
      name: m.name,
      memberId: m.memberId,
      address: this.address(i),
      clientUrl: this.clientUrl(i),
      running: m.running,
      leader: this.#leader === i,
    }));
  }

  /** `pdpb.Member` of member `i` (every member lists each other member, running or not, as etcd does). */
  wire(i: number, binaryVersion: string): pdpb.Member {
    const m = this.#member(i);
    const url = this.clientUrl(i);
    return {
      name: m.name,
      memberId: m.memberId,
      peerUrls: [url],
      clientUrls: [url],
      leaderPriority: 0,
      deployPath: '',
      binaryVersion,
      gitHash: '',
      dcLocation: '',
    };
  }
}

function withoutScheme(url: string): string | undefined {
  for (const scheme of ['http://', 'https://']) if (url.startsWith(scheme)) return url.slice(scheme.length);
  return undefined;
}
