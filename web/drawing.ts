/**
 * Generate from a checkpoint: a generator loaded from a file, a URL or the run being trained,
 * drawing samples (by class for a conditional one, a button per class) and a latent
 * interpolation.
 */
import { loadGenerator, type LoadedGenerator, type ShippedName } from '../src/embed.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { runMetadata } from '../src/checkpoints/run-state.js';
import { classRows } from '../src/model/sample.js';
import { modelStateDict, serialize } from '../src/model/state-dict.js';
import type { GanTrainer } from '../src/train/trainer.js';
import { $, button, state } from './page.js';

export class SampleDrawing {
  private generator: LoadedGenerator | null = null;

  constructor(private readonly gpu: Gpu) {}

  /** `trainer`: the run being trained, once there is one (Use the generator being trained). */
  listen(trainer: () => GanTrainer): void {
    $<HTMLInputElement>('ckpt-file').addEventListener('change', (e) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (file) void this.loadFrom(file, file.name);
    });
    $('ckpt-load').addEventListener('click', () => void this.loadFrom($<HTMLInputElement>('ckpt-url').value, $<HTMLInputElement>('ckpt-url').value));
    $('use-trained').addEventListener('click', () => void this.useTrained(trainer()));
    $('draw').addEventListener('click', () => void this.drawSamples());
    $('class-all').addEventListener('click', () => void this.drawSamples('all'));
    $('interpolate').addEventListener('click', () => void this.interpolate());
  }

  /** A shipped generator (SHIPPED_GENERATORS), drawn at once: what a visitor sees before any training. */
  async loadShipped(name: ShippedName, caption: string): Promise<void> {
    await this.loadFrom(name, caption);
    state.shippedAt = performance.now();
  }

  private async loadFrom(source: File | string, label: string): Promise<void> {
    try {
      this.use(await loadGenerator(source, { gpu: this.gpu }), label);
      await this.drawSamples();
    } catch (err) {
      $('ckpt-status').textContent = `Could not load ${label}: ${(err as Error).message}`;
    }
  }

  private use(g: LoadedGenerator, from: string): void {
    this.generator = g;
    $('ckpt-status').textContent = `Loaded ${from} (latent ${g.latentDim}${g.classes ? `, conditional on ${g.classes.length} classes` : ''}).`;
    for (const id of ['draw', 'interpolate']) button(id).disabled = false;
    // A conditional generator gets a button per class.
    $('classes').hidden = !g.classes;
    $('class-buttons').replaceChildren(
      ...(g.classes ?? []).map((name, k) => {
        const b = Object.assign(document.createElement('button'), { textContent: name, id: `class-${k}` });
        b.addEventListener('click', () => void this.drawSamples(k));
        return b;
      }),
    );
  }

  private async useTrained(t: GanTrainer): Promise<void> {
    // The run's metadata goes with it: a conditional generator is loaded as one.
    const bytes = serialize(await modelStateDict(this.gpu, t.G, t.globalStep), runMetadata(t));
    await this.loadFrom(new File([bytes.slice()], `generator at step ${t.globalStep}`), `the generator at step ${t.globalStep}`);
  }

  /** 25 samples (of class `label` for a conditional generator; without one, the classes in turn), or one row per class ('all'). */
  private async drawSamples(label?: number | 'all'): Promise<void> {
    const generator = this.generator;
    if (!generator) return;
    const seed = Number($<HTMLInputElement>('sample-seed').value);
    const K = generator.classes?.length ?? 0;
    if (label === 'all') {
      state.samples = await generator.sample({ n: K * 10, seed, label: classRows(K, 10) });
      generator.drawTo($('samples'), { nrow: 10 });
    } else {
      state.samples = await generator.sample({ n: 25, seed, ...(label === undefined ? {} : { label }) });
      generator.drawTo($('samples'));
    }
    state.drawnLabel = label ?? null;
  }

  private async interpolate(): Promise<void> {
    const generator = this.generator;
    if (!generator) return;
    await generator.interpolate(Number($<HTMLInputElement>('seed-a').value), Number($<HTMLInputElement>('seed-b').value), 10);
    generator.drawTo($('strip'), { nrow: 10 });
  }
}
