import { REFERENCE_CONFIG, type TrainConfig } from '../../src/train/trainer.js';

/**
 * The reference configuration with matmul variants from the fixed table (tune off): bit-for-bit
 * comparisons between runs must not depend on timing races (the tuner has its own tests), and
 * tuning would slow every test.
 */
export const TEST_CONFIG: TrainConfig = { ...REFERENCE_CONFIG, tune: 'off' };

/**
 * The route for tests whose subject is not the kernels (resume, signals, files, data, messages,
 * the page's controls): explicit convolutions and the vec4 8x8 matmul compile in seconds on
 * both CPU adapters, where the default route's register blocks and implicit GEMMs take minutes
 * (a 2-step CLI run from cold caches, measured with the scalar 4x4 matmul: 21 s against 250 s on
 * SwiftShader, 10 s against 323 s on gles; vec4 8x8 compiles in about the same time), and vec4
 * 8x8 runs a step at batch 8 in 0.4-0.6x scalar 4x4's time (docs/benchmarks.md, "The test
 * suite"). The parity tests (ops, matmul, step, the page's first training) run the default
 * route. As the CLI's environment (flags still win) and as the page's URL parameters.
 */
export const QUICK_ROUTE = { conv: 'explicit', matmul: 'vec4_8x8' } as const;
export const QUICK_ROUTE_ENV = { WEBGPU_DCGAN_CONV: QUICK_ROUTE.conv, WEBGPU_DCGAN_MATMUL: QUICK_ROUTE.matmul };
export const QUICK_ROUTE_URL = `conv=${QUICK_ROUTE.conv}&matmul=${QUICK_ROUTE.matmul}`;
