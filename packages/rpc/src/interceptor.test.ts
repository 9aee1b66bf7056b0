import { kvrpcpb } from '@tikv/proto';
import { chainInterceptors, type RpcCall, RpcInterceptorChain, rpcInterceptor } from './interceptor.js';
import type { TikvRequest, TikvResponse } from './tikv-commands.js';

/** client-go `MockInterceptorManager`: counts begins/ends and logs names in call order. */
function mockManager() {
  const m = { begin: 0, end: 0, execLog: [] as string[] };
  const create = (name: string) =>
    rpcInterceptor(name, (next) => async (address, request, options) => {
      m.execLog.push(name);
      m.begin++;
      try {
        return await next(address, request, options);
      } finally {
        m.end++;
      }
    });
  return { m, create };
}

const request: TikvRequest = { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({}) };
const answer: TikvResponse = { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({}) };
const leaf: RpcCall = async () => answer;

describe('interceptors (client-go tikvrpc/interceptor)', () => {
  it('runs linked interceptors in order (TestInterceptor)', async () => {
    const { m, create } = mockManager();
    const chain = new RpcInterceptorChain().link(create('INTERCEPTOR-1')).link(create('INTERCEPTOR-2'));
    await expect(chain.wrap(leaf)('', request, {})).resolves.toBe(answer);
    expect(m.begin).toBe(2);
    expect(m.end).toBe(2);
    expect(m.execLog).toEqual(['INTERCEPTOR-1', 'INTERCEPTOR-2']);
  });

  it('keeps one interceptor per name, the last linked, and flattens nested chains', async () => {
    const { m, create } = mockManager();
    const inner = chainInterceptors(create('b'), create('c'));
    const chain = chainInterceptors(create('a'), create('b'), inner, create('a'));
    expect(chain.names()).toEqual(['b', 'c', 'a']);
    expect(chain.length).toBe(3);
    expect(chain.name).toBe('interceptor-chain');
    await chain.wrap(leaf)('addr', request, {});
    expect(m.execLog).toEqual(['b', 'c', 'a']);
  });

  it('lets an interceptor rewrite the address and request, or answer alone', async () => {
    const seen: string[] = [];
    const rewrite = rpcInterceptor(
      'rewrite',
      (next) => (_address, req, options) => next('other:1', req, options),
    );
    const record: RpcCall = async (address) => {
      seen.push(address);
      return answer;
    };
    await chainInterceptors(rewrite).wrap(record)('store:1', request, {});
    expect(seen).toEqual(['other:1']);
    const cached = rpcInterceptor('cache', () => async () => answer);
    await expect(chainInterceptors(cached).wrap(record)('store:1', request, {})).resolves.toBe(answer);
    expect(seen).toHaveLength(1);
  });

  it('an empty chain is the identity', () => {
    expect(new RpcInterceptorChain().wrap(leaf)).toBe(leaf);
  });
});
