/**
 * The page: live training of the reference DCGAN and generation from a checkpoint, built from the
 * library's own src/ (no second implementation). URL parameters (used by the tests, handy for
 * demos): batch, seed, steps (stop after), autostart=1, refresh (grid every N steps, default 10),
 * logEvery (losses every N steps, default 5), data (base URL of the IDX files, default ./data/).
 */
import { drawGrid, LoadedGenerator, loadGenerator } from '../src/embed.js';
import { modelStateDict, serialize } from '../src/gan/checkpoint.js';
import { GanTrainer, REFERENCE_CONFIG, type StepStats } from '../src/gan/trainer.js';
import { requestGpu, type Gpu } from '../src/gpu/gpu.js';
import { profileMethod, profileTable, type KernelProfile } from '../src/gpu/profiler.js';
import { imageSetFromIdx } from '../src/mnist/idx.js';

interface PageState {
  adapter?: string;
  error?: string;
  step: number;
  losses: Array<{ step: number; d: number; g: number }>;
  samples?: Float32Array;
  gridDrawnAtStep?: number;
  done?: boolean;
  profile?: KernelProfile[];
}
const state: PageState = { step: 0, losses: [] };
(window as unknown as { __dcgan: PageState }).__dcgan = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const num = (name: string, fallback: number) => {
  const v = params.get(name);
  return v === null ? fallback : Number(v);
};

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
  if (error) state.error = text;
}

function drawChart(): void {
  const canvas = $<HTMLCanvasElement>('chart');
  const ctx = canvas.getContext('2d')!;
  const { width: W, height: H } = canvas;
  ctx.clearRect(0, 0, W, H);
  const pts = state.losses;
  if (pts.length < 2) return;
  const max = Math.max(...pts.flatMap((p) => [p.d, p.g]).filter(Number.isFinite), 1e-3);
  const x = (s: number) => 30 + ((s - pts[0]!.step) / Math.max(1, pts[pts.length - 1]!.step - pts[0]!.step)) * (W - 40);
  const y = (v: number) => H - 20 - (v / max) * (H - 30);
  ctx.strokeStyle = '#ccc';
  ctx.fillStyle = '#555';
  ctx.font = '11px sans-serif';
  for (const f of [0, 0.5, 1]) {
    ctx.beginPath();
    ctx.moveTo(30, y(f * max));
    ctx.lineTo(W - 10, y(f * max));
    ctx.stroke();
    ctx.fillText((f * max).toFixed(2), 2, y(f * max) + 4);
  }
  ctx.fillText(`step ${pts[pts.length - 1]!.step}`, W - 70, H - 5);
  for (const [key, color] of [['d', '#1f77b4'], ['g', '#ff7f0e']] as const) {
    ctx.strokeStyle = color;
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(x(p.step), y(p[key])) : ctx.moveTo(x(p.step), y(p[key]))));
    ctx.stroke();
  }
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function loadMnist(): Promise<ReturnType<typeof imageSetFromIdx>> {
  const base = params.get('data') ?? './data/';
  const get = async (name: string) => {
    const res = await fetch(base + name);
    if (!res.ok) throw new Error(`${base}${name}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [images, labels] = await Promise.all([get('train-images-idx3-ubyte'), get('train-labels-idx1-ubyte')]);
  return imageSetFromIdx(images, `${base}train-images-idx3-ubyte`, labels, `${base}train-labels-idx1-ubyte`);
}

async function main(): Promise<void> {
  let gpu: Gpu;
  try {
    gpu = await requestGpu();
  } catch (err) {
    status(`WebGPU is not available: ${(err as Error).message}`, true);
    return;
  }
  state.adapter = gpu.describe();
  status(`Adapter: ${state.adapter}. Loading MNIST…`);
  gpu.device.lost.then((info) => status(`The GPU device was lost (${info.reason}): ${info.message}`, true));

  let trainer: GanTrainer | null = null;
  let running = false;
  let looping: Promise<void> = Promise.resolve();
  let generator: LoadedGenerator | null = null;
  const set = await loadMnist();
  status(`Adapter: ${state.adapter}. MNIST: ${set.count} images. Ready.`);
  for (const id of ['start', 'ckpt-load']) $<HTMLButtonElement>(id).disabled = false;
  $<HTMLInputElement>('batch').value = String(num('batch', 64));
  $<HTMLInputElement>('seed').value = String(num('seed', 0));

  const maxSteps = params.has('steps') ? num('steps', 0) : null;
  const refresh = num('refresh', 10);
  const logEvery = num('logEvery', 5);

  async function drawFake(plan: Awaited<ReturnType<GanTrainer['step']>>): Promise<void> {
    drawGrid($('grid'), await trainer!.fakeGrid(plan));
    state.gridDrawnAtStep = trainer!.globalStep;
  }

  async function loop(): Promise<void> {
    const t = trainer!;
    const times: number[] = [];
    let plan: Awaited<ReturnType<GanTrainer['step']>> | null = null;
    while (running && (maxSteps === null || t.globalStep < maxSteps)) {
      plan = await t.step();
      await gpu.sync('training step');
      times.push(performance.now());
      if (times.length > 20) times.shift();
      state.step = t.globalStep;
      $('step').textContent = String(t.globalStep);
      $('epoch').textContent = String(t.epoch + 1);
      $('batch-index').textContent = String(t.batchIndex);
      if (times.length > 1) $('rate').textContent = (((times.length - 1) * 1000) / (times[times.length - 1]! - times[0]!)).toFixed(2);
      if (t.globalStep % logEvery === 0 || t.globalStep === 1) {
        const s: StepStats = await t.stats(plan);
        state.losses.push({ step: t.globalStep, d: s.dLoss, g: s.gLoss });
        $('d-loss').textContent = s.dLoss.toFixed(4);
        $('g-loss').textContent = s.gLoss.toFixed(4);
        drawChart();
        if (!Number.isFinite(s.dLoss) || !Number.isFinite(s.gLoss)) {
          status(`A loss became NaN or infinite at step ${t.globalStep}; training stopped.`, true);
          running = false;
        }
      }
      if (t.globalStep % refresh === 0) await drawFake(plan);
      await new Promise((r) => setTimeout(r, 0)); // let the page breathe
    }
    if (plan) await drawFake(plan);
    if (maxSteps !== null && t.globalStep >= maxSteps) {
      running = false;
      state.done = true;
      $<HTMLButtonElement>('pause').disabled = true;
      $<HTMLButtonElement>('start').textContent = 'Done';
    }
  }

  $('start').addEventListener('click', async () => {
    if (running) return;
    if (!trainer) {
      const batchSize = Number($<HTMLInputElement>('batch').value);
      const seed = Number($<HTMLInputElement>('seed').value);
      try {
        trainer = await GanTrainer.create(gpu, set, { ...REFERENCE_CONFIG, batchSize, seed, tune: params.get('tune') === 'off' ? 'off' : 'quick' });
      } catch (err) {
        status(`Could not build the training plan: ${(err as Error).message}`, true);
        return;
      }
      for (const id of ['batch', 'seed']) $<HTMLInputElement>(id).disabled = true;
      for (const id of ['download-g', 'download-d', 'use-trained', 'profile']) $<HTMLButtonElement>(id).disabled = false;
    }
    running = true;
    $<HTMLButtonElement>('start').disabled = true;
    $<HTMLButtonElement>('pause').disabled = false;
    looping = loop().catch((err) => status(`Training failed: ${(err as Error).message}`, true));
  });
  $('pause').addEventListener('click', () => {
    running = false;
    $<HTMLButtonElement>('start').disabled = false;
    $<HTMLButtonElement>('start').textContent = 'Resume';
    $<HTMLButtonElement>('pause').disabled = true;
  });
  const downloadModel = async (which: 'G' | 'D') => {
    const t = trainer!;
    const model = which === 'G' ? t.G : t.D;
    const tensors = await modelStateDict(gpu, model, which === 'G' ? t.globalStep : 3 * t.globalStep);
    download(serialize(tensors, { step: String(t.globalStep), latent_dim: String(t.config.latentDim) }), which === 'G' ? 'generator.safetensors' : 'discriminator.safetensors');
  };
  // One real step of the run, every dispatch timed alone: the table `train --profile` prints.
  $('profile').addEventListener('click', async () => {
    const t = trainer!;
    if (running) $('pause').click(); // profile between steps, paused; Resume continues the run
    await looping;
    $<HTMLButtonElement>('profile').disabled = true;
    $('profile-status').textContent = 'Profiling one step…';
    try {
      await gpu.sync('profile');
      const { plan, timed } = await t.profileStep();
      const rows = profileTable(timed);
      state.profile = rows;
      const total = timed.reduce((a, d) => a + d.durUs, 0) / 1000;
      $('profile-status').textContent = `Step ${t.globalStep} at batch ${plan.batch}: ${total.toFixed(1)} ms in ${timed.length} dispatches (${profileMethod(gpu)}).`;
      const body = $('profile-table').querySelector('tbody')!;
      body.replaceChildren(
        ...rows.map((r) => {
          const tr = document.createElement('tr');
          for (const cell of [r.kernel, String(r.calls), r.ms.toFixed(2), r.meanUs.toFixed(0), r.gflops === null ? '–' : r.gflops.toFixed(2), `${(100 * r.share).toFixed(1)}%`]) {
            const td = document.createElement('td');
            td.textContent = cell;
            tr.append(td);
          }
          return tr;
        }),
      );
      $('profile-table').hidden = false;
      state.step = t.globalStep;
      $('step').textContent = String(t.globalStep);
    } catch (err) {
      $('profile-status').textContent = `Profiling failed: ${(err as Error).message}`;
    } finally {
      $<HTMLButtonElement>('profile').disabled = false;
    }
  });
  $('download-g').addEventListener('click', () => void downloadModel('G'));
  $('download-d').addEventListener('click', () => void downloadModel('D'));

  const useGenerator = (g: LoadedGenerator, from: string) => {
    generator = g;
    $('ckpt-status').textContent = `Loaded ${from} (latent ${g.latentDim}).`;
    for (const id of ['draw', 'interpolate']) $<HTMLButtonElement>(id).disabled = false;
  };
  const loadFrom = async (source: File | string, label: string) => {
    try {
      useGenerator(await loadGenerator(source, { gpu }), label);
      await drawSamples();
    } catch (err) {
      $('ckpt-status').textContent = `Could not load ${label}: ${(err as Error).message}`;
    }
  };
  $<HTMLInputElement>('ckpt-file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void loadFrom(file, file.name);
  });
  $('ckpt-load').addEventListener('click', () => void loadFrom($<HTMLInputElement>('ckpt-url').value, $<HTMLInputElement>('ckpt-url').value));
  $('use-trained').addEventListener('click', async () => {
    const t = trainer!;
    const bytes = serialize(await modelStateDict(gpu, t.G, t.globalStep), {});
    await loadFrom(new File([bytes.slice()], `generator at step ${t.globalStep}`), `the generator at step ${t.globalStep}`);
  });
  async function drawSamples(): Promise<void> {
    if (!generator) return;
    state.samples = await generator.sample({ n: 25, seed: Number($<HTMLInputElement>('sample-seed').value) });
    generator.drawTo($('samples'));
  }
  $('draw').addEventListener('click', () => void drawSamples());
  $('interpolate').addEventListener('click', async () => {
    if (!generator) return;
    await generator.interpolate(Number($<HTMLInputElement>('seed-a').value), Number($<HTMLInputElement>('seed-b').value), 10);
    generator.drawTo($('strip'), { nrow: 10 });
  });

  if (params.get('autostart') === '1') $('start').click();
}

main().catch((err) => status(`Page failed: ${(err as Error).message}`, true));
