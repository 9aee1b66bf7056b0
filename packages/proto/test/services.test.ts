import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as proto from '../src/index.js';

interface MethodDef {
  readonly name: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestType: { encode: unknown };
  readonly responseType: { encode: unknown };
}
interface ServiceDef {
  readonly name: string;
  readonly fullName: string;
  readonly methods: Record<string, MethodDef>;
}

const protoDir = join(__dirname, '..', '..', '..', 'proto');

/** Services and methods as declared in our .proto sources. */
function declaredServices(): Map<
  string,
  Map<string, { clientStreaming: boolean; serverStreaming: boolean }>
> {
  const out = new Map<string, Map<string, { clientStreaming: boolean; serverStreaming: boolean }>>();
  for (const file of readdirSync(protoDir).filter((f) => f.endsWith('.proto'))) {
    const text = readFileSync(join(protoDir, file), 'utf8').replace(/\/\/.*$/gm, '');
    const pkg = /\bpackage\s+([\w.]+)\s*;/.exec(text)?.[1];
    for (const svc of text.matchAll(/\bservice\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
      const methods = new Map<string, { clientStreaming: boolean; serverStreaming: boolean }>();
      for (const m of (svc[2] ?? '').matchAll(
        /\brpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?[\w.]+\s*\)/g,
      )) {
        methods.set(m[1] ?? '', { clientStreaming: !!m[2], serverStreaming: !!m[3] });
      }
      out.set(`${pkg}.${svc[1]}`, methods);
    }
  }
  return out;
}

/** Every nice-grpc service definition exported by @tikv/proto. */
function generatedServices(): ServiceDef[] {
  const defs: ServiceDef[] = [];
  for (const ns of Object.values(proto)) {
    for (const [name, value] of Object.entries(ns as Record<string, unknown>)) {
      if (name.endsWith('Definition') && typeof value === 'object' && value !== null && 'fullName' in value) {
        defs.push(value as ServiceDef);
      }
    }
  }
  return defs;
}

describe('service definitions', () => {
  const declared = declaredServices();
  const generated = generatedServices();

  test('the services the client needs are all there', () => {
    expect(generated.map((d) => d.fullName).sort()).toEqual(
      expect.arrayContaining([
        'keyspacepb.Keyspace',
        'meta_storagepb.MetaStorage',
        'pdpb.PD',
        'resource_manager.ResourceManager',
        'tikvpb.Tikv',
        'tsopb.TSO',
      ]),
    );
  });

  test('every generated service matches its .proto declaration method for method', () => {
    expect(new Set(generated.map((d) => d.fullName))).toEqual(new Set(declared.keys()));
    for (const def of generated) {
      const methods = declared.get(def.fullName);
      expect(methods).toBeDefined();
      const got = Object.values(def.methods).map((m) => [m.name, m.requestStream, m.responseStream]);
      const want = [...(methods ?? [])].map(([n, s]) => [n, s.clientStreaming, s.serverStreaming]);
      expect(got.sort()).toEqual(want.sort());
    }
  });

  test('every method path is /<package>.<Service>/<Method>', () => {
    for (const def of generated) {
      const [pkg, svc] = [def.fullName.slice(0, def.fullName.lastIndexOf('.')), def.name];
      expect(def.fullName).toBe(`${pkg}.${svc}`);
      for (const m of Object.values(def.methods)) {
        const path = `/${def.fullName}/${m.name}`;
        // Packages may be dotted and versioned (`grpc.health.v1`).
        expect(path).toMatch(/^\/[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*\.[A-Za-z]+\/[A-Z][A-Za-z0-9]+$/);
        expect(typeof m.requestType.encode).toBe('function');
        expect(typeof m.responseType.encode).toBe('function');
      }
    }
  });

  test('streaming kinds of the hot methods', () => {
    const byName = new Map(generated.map((d) => [d.fullName, d]));
    const tikv = byName.get('tikvpb.Tikv');
    const pd = byName.get('pdpb.PD');
    expect(tikv?.methods.batchCommands).toMatchObject({
      name: 'BatchCommands',
      requestStream: true,
      responseStream: true,
    });
    expect(tikv?.methods.rawGet).toMatchObject({
      name: 'RawGet',
      requestStream: false,
      responseStream: false,
    });
    expect(tikv?.methods.coprocessorStream).toMatchObject({ requestStream: false, responseStream: true });
    expect(pd?.methods.tso).toMatchObject({ name: 'Tso', requestStream: true, responseStream: true });
    expect(pd?.methods.queryRegion).toMatchObject({
      name: 'QueryRegion',
      requestStream: true,
      responseStream: true,
    });
    expect(pd?.methods.getRegion).toMatchObject({
      name: 'GetRegion',
      requestStream: false,
      responseStream: false,
    });
  });
});
