/**
 * The dcgan family at 32, 64, 128 and 256 pixels: every member's state_dict keys and shapes as
 * PyTorch's twin (scripts/fixtures/dcgan64_model.py) names them, unconditional and conditional
 * (test/fixtures/dcgan128.safetensors' metadata), the size read back from a checkpoint's
 * shapes, and sizes the family is not built for refused before anything is built.
 */
import { describe, expect, it } from 'vitest';
import { discriminator, generator, modelSpec } from '../src/model/models.js';
import { generatorSpec } from '../src/model/sample.js';
import type { Sequential } from '../src/layers/sequential.js';
import { loadFixture } from './helpers/fixtures.js';

const family = (JSON.parse(loadFixture('dcgan128').metadata.dcgan64!) as { family: Record<string, Record<'g' | 'd', Record<string, number[]>>> }).family;

/** A model's state_dict keys and shapes, as PyTorch lists them (BatchNorm's num_batches_tracked a scalar). */
function stateShapes(model: Sequential): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of [...model.namedParamSpecs(), ...model.namedStateSpecs()]) out[s.name] = s.shape;
  for (const key of Object.keys(out).filter((k) => k.endsWith('.running_var'))) out[key.replace('running_var', 'num_batches_tracked')] = [];
  return out;
}

describe('the dcgan family', () => {
  for (const size of [32, 64, 128, 256]) {
    for (const classes of [0, 5]) {
      it(`at ${size} px${classes ? `, conditional on ${classes} classes,` : ''} has PyTorch's keys and shapes`, () => {
        const spec = modelSpec({ arch: 'dcgan', size, channels: 3, latentDim: 100, ngf: 4, ndf: 6, classes });
        const want = family[`${size}/${classes}`]!;
        expect(stateShapes(generator(spec))).toEqual(want.g);
        expect(stateShapes(discriminator(spec, { sigmoid: false }))).toEqual(want.d);
        // A checkpoint's shapes give the spec back (sample, eval, the page).
        const back = generatorSpec(new Map(Object.entries(want.g).map(([k, shape]) => [k, { shape }])), classes, 'g.safetensors');
        expect(back).toMatchObject({ size, channels: 3, latentDim: 100, ngf: 4, classes });
      });
    }
  }

  it('keeps dcgan64 as the name of the 64-pixel member, and refuses other sizes naming the ones it has', () => {
    const spec = { size: 64, channels: 3, latentDim: 100, ngf: 4, ndf: 6, classes: 0 };
    expect(stateShapes(generator(modelSpec({ ...spec, arch: 'dcgan64' })))).toEqual(stateShapes(generator(modelSpec({ ...spec, arch: 'dcgan' }))));
    expect(() => modelSpec({ ...spec, arch: 'dcgan', size: 48 })).toThrow('image size: the dcgan model is built for 32, 64, 128 or 256 pixels, found 48');
    expect(() => modelSpec({ ...spec, arch: 'dcgan64', size: 128 })).toThrow('image size: the dcgan64 model is built for 64 pixels, found 128');
  });
});
