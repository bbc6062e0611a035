import { REFERENCE_CONFIG, type TrainConfig } from '../../src/train/trainer.js';

/**
 * The reference configuration with matmul variants from the fixed table (tune off): bit-for-bit
 * comparisons between runs must not depend on timing races (the tuner has its own tests), and
 * tuning would slow every test.
 */
export const TEST_CONFIG: TrainConfig = { ...REFERENCE_CONFIG, tune: 'off' };
