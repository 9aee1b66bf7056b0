import { ResolveState, Store, storeTypeFromLabels } from './store.js';

describe('Store', () => {
  it('storeTypeFromLabels and Store helpers', () => {
    expect(storeTypeFromLabels([{ key: 'engine', value: 'tiflash' }])).toBe('tiflash');
    expect(storeTypeFromLabels([{ key: 'engine', value: 'tikv' }])).toBe('tikv');
    const st = new Store(1n);
    expect(st.isStoreMatch(undefined)).toBe(true);
    expect(st.isStoreMatch([2n])).toBe(false);
    st.updateServerLoad(100, 1000);
    expect(st.estimatedWait(1040)).toBe(60);
    expect(st.estimatedWait(2000)).toBe(0);
    expect(st.changeResolveState(ResolveState.NEED_CHECK, ResolveState.RESOLVED)).toBe(false);
  });
});
