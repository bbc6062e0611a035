/**
 * Every GPU program, enumerated from every module in src/shaders/ (each exports its programs as
 * a `*_PROGRAMS` list, one of each variant): its WGSL declares exactly the workgroup size, the
 * uniform struct and the bindings the program object declares (so none is written twice), its
 * uniform packs to the declared byte size, and it compiles and binds by name on the GLES adapter.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnyProgram } from '../src/gpu/program.js';
import { useGpu } from './helpers/gpu.js';

// Vite's glob import: every module of the folder, so a new one without a list fails below.
declare global {
  interface ImportMeta {
    glob(pattern: string, options: { eager: true }): Record<string, Record<string, unknown>>;
  }
}
const modules = import.meta.glob('../src/shaders/*.ts', { eager: true });
const lists = Object.entries(modules)
  .filter(([path]) => !path.endsWith('/common.ts'))
  .map(([path, mod]) => ({
    file: path.replace('../src/shaders/', ''),
    programs: Object.entries(mod)
      .filter(([name, v]) => /PROGRAMS$|PROGRAM_LIST$/.test(name) && Array.isArray(v))
      .flatMap(([, v]) => v as AnyProgram[]),
  }));
const PROGRAMS = lists.flatMap((l) => l.programs);

/** The `@binding(i) var<...> name: type;` declarations of a WGSL source, in source order. */
function bindings(code: string): Array<{ index: number; space: string; name: string; type: string }> {
  return [...code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<([^>]+)>\s*(\w+)\s*:\s*([^;]+);/g)].map((m) => ({ index: Number(m[1]), space: m[2]!.replace(/\s/g, ''), name: m[3]!, type: m[4]!.trim() }));
}

describe('programs', () => {
  it('every module in src/shaders lists its programs', () => {
    for (const { file, programs } of lists) expect(programs.length, `src/shaders/${file} exports no *_PROGRAMS list`).toBeGreaterThan(0);
    expect(lists.length).toBe(readdirSync('src/shaders').filter((f) => f.endsWith('.ts') && f !== 'common.ts').length);
    expect(new Set(PROGRAMS.map((p) => p.name)).size, 'program names are unique').toBe(PROGRAMS.length);
  });

  it("every program's WGSL declares its own workgroup size, uniform layout and bindings, once", () => {
    for (const p of PROGRAMS) {
      const code = p.kernel.code;
      const sizes = [...code.matchAll(/@workgroup_size\(([^)]*)\)/g)].map((m) => m[1]!.split(',').map((d) => Number(d.trim())));
      expect(sizes, p.name).toHaveLength(1);
      const [x, y = 1, z = 1] = sizes[0]!;
      expect([x, y, z], `${p.name}: @workgroup_size`).toEqual([...p.workgroupSize]);

      const decls = bindings(code);
      expect(decls.map((d) => d.index), `${p.name}: binding indices`).toEqual(decls.map((_, i) => i));
      const uniforms = Object.entries((p.uniforms ?? {}) as Record<string, string>);
      const storage = decls.filter((d) => d.space !== 'uniform');
      expect(storage.map((d) => d.name), `${p.name}: bindings`).toEqual(Object.keys(p.bindings));
      for (const d of storage) {
        const spec = p.bindings[d.name]!;
        const access = typeof spec === 'string' ? spec : spec.access;
        expect(d.space, `${p.name}: ${d.name}`).toBe(`storage,${access}`);
      }
      const uniformDecls = decls.filter((d) => d.space === 'uniform');
      if (uniforms.length === 0) {
        expect(uniformDecls, `${p.name}: no uniform`).toHaveLength(0);
        expect(p.uniformBytes).toBe(0);
        continue;
      }
      expect(uniformDecls.map((d) => [d.index, d.name, d.type]), `${p.name}: uniform`).toEqual([[0, 'params', 'Params']]);
      const struct = /struct Params \{([^}]*)\}/.exec(code);
      expect(struct, `${p.name}: struct Params`).not.toBeNull();
      const fields = struct![1]!.split(',').map((f) => f.trim()).filter(Boolean).map((f) => f.split(':').map((t) => t.trim()));
      const declared = fields.filter(([n]) => !n!.startsWith('_pad'));
      expect(declared, `${p.name}: struct Params fields`).toEqual(uniforms);
      expect(fields.length * 4, `${p.name}: struct size`).toBe(p.uniformBytes);
      expect(p.uniformBytes % 16).toBe(0);
      expect(p.params(Object.fromEntries(uniforms.map(([n]) => [n, 1]))).byteLength).toBe(p.uniformBytes);
    }
  });

  describe('compile and bind by name on gles', () => {
    const gpu = useGpu('gles');
    it(`all ${PROGRAMS.length} programs`, async () => {
      const g = gpu();
      const scratch = g.tensor('scratch', [1 << 16]);
      for (const p of PROGRAMS) {
        const named = Object.fromEntries(Object.keys(p.bindings).map((n) => [n, scratch]));
        const values = Object.fromEntries(Object.keys(p.uniforms ?? {}).map((n) => [n, 1]));
        // The grid of a minimal shape: every size a program's grid reads is 1, or 4 where a
        // vec4 form needs a multiple of 4 (values n, pixels HW).
        const shape = { n: 4, N: 1, C: 1, HW: 4, M: 1, K: 1, MN: 1, batch: 1, pixels: 1, G: 1, rows: 1, latent: 1, classes: 1, width: 1, padded: 4, mode: 'forward', g: { N: 1, C: 1, H: 1, W: 1, Ho: 1, Wo: 1, k: 1, s: 1, p: 0 } };
        // thread_channels4 takes 4 channels per invocation, over HW = 1.
        const d = await p.prepare(g, p.name.includes('thread_channels4') ? { ...shape, C: 4, HW: 1 } : shape, named, values);
        expect(d.kernel).toBe(p.name);
        expect(d.bytes, `${p.name}: bytes for the roofline`).toBeGreaterThan(0);
      }
    });
  });
});
