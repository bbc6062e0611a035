/**
 * A checkpoint's float32 tensors stored in half precision (F16 or BF16) for embedding: half the
 * bytes, widened back to float32 exactly on load (safetensors.ts widenedToF32). Integer tensors
 * (BatchNorm's num_batches_tracked) stay as they are. A half file samples; it does not resume.
 */
import { narrowToHalf, type HalfDType } from '../io/half.js';
import { SafetensorsError, tensorValues, type SafeFile, type SafeTensor } from '../io/safetensors.js';

/** The largest finite float16. */
const F16_MAX = 65504;

export function halfCheckpoint(file: SafeFile, dtype: HalfDType, name: string): SafeFile {
  const tensors = new Map<string, SafeTensor>();
  for (const [key, t] of file.tensors) {
    if (t.dtype !== 'F32') {
      tensors.set(key, t);
      continue;
    }
    const values = tensorValues(t) as Float32Array;
    if (dtype === 'F16') {
      const worst = values.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);
      // Rounding reaches infinity from 65520 up; anything past the largest finite value is refused.
      if (Math.abs(worst) > F16_MAX) throw new SafetensorsError(name, `tensor "${key}" holds ${worst}, beyond float16's ${F16_MAX}: store it as BF16`);
    }
    tensors.set(key, { dtype, shape: t.shape, bytes: narrowToHalf(values, dtype) });
  }
  return { tensors, metadata: { ...file.metadata, stored_as: dtype } };
}
