/**
 * The first step after a hand-off, on this side: resumes RUN_DIR's latest checkpoint on an
 * adapter, trains one step and writes that step's real batch, z and losses, which
 * `scripts/torch_handoff.py train --check FILE` feeds PyTorch's first step (the two must agree
 * within the parity tolerances). Dev only, like the other PyTorch tools.
 *
 *   npx tsx --conditions=source scripts/handoff-next.ts RUN_DIR next.safetensors [--backend gles]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadRun, readRunConfig } from '../src/checkpoints/run-files.js';
import { loadTrainingData } from '../src/data/files.js';
import { requestGpu } from '../src/gpu/gpu.js';
import { parseBackend } from '../src/gpu/backend.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { GanTrainer, REFERENCE_CONFIG } from '../src/train/trainer.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { backend: { type: 'string', default: 'gles' } } });
const [runDir, out] = positionals;
if (!runDir || !out) throw new Error('usage: handoff-next.ts RUN_DIR OUT.safetensors [--backend gles]');
const { config: saved, meta } = readRunConfig(runDir);
const config = { ...REFERENCE_CONFIG, ...saved, tune: 'off' as const };
const { set } = await loadTrainingData(meta.data ?? 'mnist', { size: config.imageSize, channels: config.channels });
const gpu = await requestGpu({ backend: parseBackend(values.backend!, '--backend') });
const trainer = await GanTrainer.create(gpu, set, config);
loadRun(runDir, trainer);
const plan = await trainer.step();
const stats = await trainer.stats(plan);
const f32 = (shape: number[], v: Float32Array) => ({ dtype: 'F32' as const, shape, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) });
const real = (await gpu.read(plan.real)) as Float32Array;
const z = (await gpu.read(plan.z)) as Float32Array;
const b = plan.batch;
writeFileSync(out, serializeSafetensors(new Map([
  ['real', f32([b, config.channels, config.imageSize, config.imageSize], real.subarray(0, b * config.channels * config.imageSize ** 2))],
  ['z', f32([b, config.latentDim], z.subarray(0, b * config.latentDim))],
  ['d_loss', f32([], Float32Array.of(stats.dLoss))],
  ['g_loss', f32([], Float32Array.of(stats.gLoss))],
]), { step: String(trainer.globalStep) }));
console.log(`step ${trainer.globalStep} on ${gpu.describe()}: Loss_D ${stats.dLoss} Loss_G ${stats.gLoss}; its batch and z in ${out}`);
gpu.destroy();
