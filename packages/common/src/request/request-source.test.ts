import { buildRequestSource, ExplicitRequestSourceType, isInternalRequestSource } from './request-source.js';

describe('request source (client-go util/request_source_test.go)', () => {
  it('TestGetRequestSource / TestBuildRequestSource', () => {
    expect(buildRequestSource({ internal: true, type: 'test', explicitType: 'lightning' })).toBe(
      'internal_test_lightning',
    );
    expect(buildRequestSource({ internal: false, type: 'test', explicitType: 'lightning' })).toBe(
      'external_test_lightning',
    );
    expect(buildRequestSource(undefined)).toBe('unknown');
    expect(buildRequestSource({})).toBe('unknown');
    expect(buildRequestSource({ internal: true })).toBe('unknown');
    expect(buildRequestSource({ type: 'test' })).toBe('external_test');
    expect(buildRequestSource({ explicitType: ExplicitRequestSourceType.LIGHTNING })).toBe(
      'external_unknown_lightning',
    );
    // The explicit type is left out when it repeats the type.
    expect(buildRequestSource({ type: 'stats', explicitType: 'stats' })).toBe('external_stats');
  });

  it('IsInternalRequest', () => {
    expect(isInternalRequestSource('internal_gc')).toBe(true);
    expect(isInternalRequestSource('external_Insert')).toBe(false);
    expect(isInternalRequestSource('unknown')).toBe(false);
  });
});
