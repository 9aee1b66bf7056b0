// The jest environment of every package: Node's, plus a leak check. A test file that leaves
// servers listening, sockets open, child processes running or ref'd timers pending once its tests
// and its own afterAll hooks are done fails with the list of what it left.
//
// Two views, because one is not enough here:
// - Servers, sockets and child processes the file creates are tracked through Node's diagnostics
//   channels and checked at the end (still listening / not destroyed / not exited). This catches
//   them even when unref'd: MockCluster unrefs its listener and sockets by default, and grpc-js
//   unrefs an idle HTTP/2 connection, so an unclosed cluster or client keeps nothing alive and
//   would pass a check of `process.getActiveResourcesInfo()` alone.
// - `process.getActiveResourcesInfo()` is counted by type when the file's environment is set up
//   and again at the end: any increase is something else keeping the event loop alive (a ref'd
//   timer, a pending fs request). Only an increase counts, so whatever jest holds is never blamed.
//
// Allowed, on purpose: unref'd timers. grpc-js keeps several that outlive a closed channel or
// server (subchannel reconnect backoff, which runs out after a closed channel, keepalive and
// deadline timers), and our own `{ background: true }` sleeps are unref'd; none of them keeps a
// process alive or holds a connection. Whatever is found at the end gets a short grace to finish
// closing (a destroyed socket closes on a later turn of the event loop), then fails the file.
//
// A file that exercises a leak we cannot fix from here (a third-party bug) names what it may leave
// in its first docblock, with the reason next to it, and only that kind is let through:
//
//   /**
//    * @leakCheckAllow client-sockets
//    * (why: the bug and where it is tracked)
//    */
//
// Kinds: client-sockets, accepted-sockets, servers, child-processes.
const { subscribe, unsubscribe } = require('node:diagnostics_channel');
const { relative } = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

/** How long a resource may take to finish closing after the file's last hook. */
const GRACE_MS = 2000;
/** Polling step while waiting out the grace. */
const STEP_MS = 10;

/** @returns {Map<string, number>} active resources by type */
function countResources() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** `host:port` of one end of a socket, or `?`. */
function endpoint(address, port) {
  return address === undefined ? '?' : `${address}:${port}`;
}

/**
 * Where the resource is being created: the first few frames of the current stack outside Node's
 * internals, node_modules and this file, as `function (path:line)`. Written without `at` and
 * columns so that jest does not take them for the stack of the failure.
 */
function creationSite() {
  const frames = [];
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/.exec(line);
    if (m === null) continue;
    const [, fn, file, row] = m;
    if (file.startsWith('node:') || file.includes('/node_modules/') || file === __filename) continue;
    frames.push(`${fn ?? '<anonymous>'} (${relative(process.cwd(), file)}:${row})`);
    if (frames.length === 4) break;
  }
  return frames.join(' < ');
}

const KINDS = ['client-sockets', 'accepted-sockets', 'servers', 'child-processes'];

/** The kinds a file's `@leakCheckAllow` pragma lets through. */
function allowedKinds(pragmas) {
  const raw = pragmas?.leakCheckAllow;
  const kinds = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(/[\s,]+/));
  const allowed = new Set(kinds.filter((k) => k !== ''));
  for (const k of allowed) {
    if (!KINDS.includes(k))
      throw new Error(`@leakCheckAllow: unknown kind '${k}' (known: ${KINDS.join(', ')})`);
  }
  return allowed;
}

class LeakCheckEnvironment extends TestEnvironment {
  /** @type {Map<string, number>} */
  #baseline = new Map();
  /** @type {Set<string>} */
  #allowed;
  /** Tracked resources still open: resource -> how to describe it and tell it is still open. */
  #open = new Map();
  /** @type {[string, (message: unknown) => void][]} */
  #subscriptions = [];

  constructor(config, context) {
    super(config, context);
    this.#allowed = allowedKinds(context.docblockPragmas);
  }

  async setup() {
    await super.setup();
    const track = (kind, resource, closeEvent, open, describe) => {
      if (this.#allowed.has(kind)) return;
      const site = creationSite();
      this.#open.set(resource, {
        open,
        describe: () => `${describe()}${site === '' ? '' : `, opened by ${site}`}`,
      });
      resource.once(closeEvent, () => this.#open.delete(resource));
    };
    this.#listen('tracing:net.server.listen:asyncStart', ({ server }) =>
      track(
        'servers',
        server,
        'close',
        () => server.listening,
        () => {
          const a = server.address();
          return `a server listening on ${typeof a === 'string' ? a : endpoint(a?.address, a?.port)}`;
        },
      ),
    );
    for (const [channel, kind, side] of [
      ['net.client.socket', 'client-sockets', 'a client socket'],
      ['net.server.socket', 'accepted-sockets', 'an accepted socket'],
    ]) {
      this.#listen(channel, ({ socket }) =>
        track(
          kind,
          socket,
          'close',
          () => !socket.destroyed,
          () =>
            `${side} ${endpoint(socket.localAddress, socket.localPort)} -> ${endpoint(socket.remoteAddress, socket.remotePort)}`,
        ),
      );
    }
    this.#listen('child_process', ({ process: child }) =>
      track(
        'child-processes',
        child,
        'exit',
        () => child.exitCode === null && child.signalCode === null,
        () => `child process ${child.pid} (${child.spawnfile})`,
      ),
    );
    this.#baseline = countResources();
  }

  async teardown() {
    for (const [channel, fn] of this.#subscriptions) unsubscribe(channel, fn);
    this.#subscriptions = [];
    this.#open.clear();
    await super.teardown();
  }

  /** Checks when the file's run is over: every test and every hook, afterAll included, is done. */
  async handleTestEvent(event, state) {
    if (event.name !== 'run_finish') return;
    const deadline = Date.now() + GRACE_MS;
    let leaks = this.#leaks();
    // The poll's own timer has fired by the time resources are counted again, so it is not counted.
    while (leaks.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, STEP_MS));
      leaks = this.#leaks();
    }
    if (leaks.length === 0) return;
    const error = new Error(
      `this test file left ${leaks.length} resource(s) open:${leaks.map((l) => `\n  - ${l}`).join('')}\n` +
        'Close every cluster, client, server, socket, child process and timer the file opens ' +
        '(in afterAll/afterEach, or with a finally).',
    );
    // The stack would point here, at the check, never at the leak: leave it out.
    error.stack = `${error.name}: ${error.message}`;
    state.unhandledErrors.push(error);
  }

  #listen(channel, fn) {
    subscribe(channel, fn);
    this.#subscriptions.push([channel, fn]);
  }

  /** @returns {string[]} what is still open */
  #leaks() {
    const out = [];
    for (const [resource, { open, describe }] of this.#open) {
      if (open()) out.push(describe());
      else this.#open.delete(resource);
    }
    const extra = [];
    for (const [type, n] of countResources()) {
      const more = n - (this.#baseline.get(type) ?? 0);
      if (more > 0) extra.push(`${more} x ${type}`);
    }
    if (extra.length > 0) out.push(`resources keeping the event loop alive: ${extra.join(', ')}`);
    return out;
  }
}

module.exports = LeakCheckEnvironment;
