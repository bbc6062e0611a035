/**
 * The generators shipped with the package, by name: trained here, stored in half precision
 * (models/*.f16.safetensors, docs/quality.md has their figures). `new URL(..., import.meta.url)`
 * is what bundlers (Vite, webpack, esbuild, Rollup) resolve to an asset URL, and what Node reads
 * as a file, so the same name works in a page and in Node.
 */
export const SHIPPED_GENERATORS = {
  /** Unconditional MNIST digits: --recipe improved. */
  mnist: new URL('../../models/mnist-generator.f16.safetensors', import.meta.url),
  /** MNIST digits of a chosen class: --conditional --head projection, --recipe improved. */
  'mnist-conditional': new URL('../../models/mnist-conditional-generator.f16.safetensors', import.meta.url),
} as const;

export type ShippedName = keyof typeof SHIPPED_GENERATORS;

export const isShippedName = (name: string): name is ShippedName => Object.hasOwn(SHIPPED_GENERATORS, name);
