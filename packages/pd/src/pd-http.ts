import * as http from 'node:http';
import * as https from 'node:https';
import { pemBytes, RpcError, type TlsOptions } from '@tikv/common';

/** Most bytes of a PD HTTP answer read (PD's JSON answers are small). */
const MAX_BODY_BYTES = 4 << 20;

/**
 * Reads PD's HTTP API (`/pd/api/v1/...`) on a member's client URL, where PD serves it next to
 * gRPC, over HTTP/1.1 (HTTPS with the client's TLS material).
 *
 * @internal
 */
export class PdHttp {
  readonly #tls: TlsOptions | undefined;
  // One keep-alive agent per client (not Node's global one), so close() ends its sockets.
  readonly #agents: { http?: http.Agent; https?: https.Agent } = {};

  constructor(tls: TlsOptions | undefined) {
    this.#tls = tls;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agents.http?.destroy();
    this.#agents.https?.destroy();
  }

  /**
   * GETs `path` on the member at `baseUrl` and returns the body text of a 2xx answer.
   *
   * @throws RpcError for a transport failure or a 5xx (retryable), or any other status (not)
   */
  get(baseUrl: string, path: string, signal: AbortSignal): Promise<string> {
    const url = new URL(path, baseUrl);
    const tls = this.#tls;
    const secure = url.protocol === 'https:';
    if (secure) this.#agents.https ??= new https.Agent({ keepAlive: true });
    else this.#agents.http ??= new http.Agent({ keepAlive: true });
    const agent = secure ? this.#agents.https : this.#agents.http;
    const options: https.RequestOptions = {
      method: 'GET',
      agent,
      signal,
      headers: { accept: 'application/json' },
      ...(secure && tls !== undefined
        ? {
            ca: pemBytes(tls.caPem),
            cert: pemBytes(tls.certPem),
            key: pemBytes(tls.keyPem),
            ...(tls.serverNameOverride === undefined ? {} : { servername: tls.serverNameOverride }),
          }
        : {}),
    };
    const address = url.host;
    return new Promise<string>((resolve, reject) => {
      const req = (secure ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES)
            req.destroy(new Error(`answer of ${path} is larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(body);
          reject(
            new RpcError(`GET ${path}: HTTP ${status} ${body.trim()}`, {
              address,
              command: path,
              requestSent: true,
              retryable: status >= 500,
            }),
          );
        });
      });
      req.on('error', (e) => {
        if (signal.aborted) return reject(signal.reason);
        reject(
          new RpcError(`GET ${path}: ${e.message}`, { address, command: path, requestSent: true, cause: e }),
        );
      });
      req.end();
    });
  }
}

/**
 * Parses JSON whose numbers may be u64 values (PD writes them as plain numbers): each integer
 * literal in `text` becomes a bigint, nothing is rounded through a double.
 *
 * @param text - the JSON text
 */
export function parseU64Json(text: string): unknown {
  // Quote every bare integer (outside strings) with a marker, then turn the marked strings back.
  const marked = text.replace(
    /("(?:[^"\\]|\\.)*")|(?<![\w.+-])(-?\d+)(?![\w.])/g,
    (m, str: string | undefined) => (str !== undefined ? m : `"\\u0000${m}"`),
  );
  return JSON.parse(marked, (_k, v: unknown) =>
    typeof v === 'string' && v.startsWith('\u0000') ? BigInt(v.slice(1)) : v,
  );
}
