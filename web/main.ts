/**
 * The page: live training of the reference DCGAN and generation from a checkpoint, built from the
 * library's own src/ (no second implementation). URL parameters (used by the tests, handy for
 * demos): batch, seed, steps (stop after), autostart=1, refresh (grid every N steps, default 10),
 * logEvery (losses every N steps, default 5), checkpointEvery (a checkpoint every N steps,
 * default 100), data (base URL of the IDX files, default ./data/), tune=off, conditional
 * (projection or acgan: a class-conditional run, the model selector's choices). Each is checked with
 * the library's own checks; a bad value is shown in the status line and nothing starts.
 *
 * The user's own images: a picked folder (or dropped files) is decoded by the browser and
 * resized, classed and reported exactly as `train --data DIR` does it (web/image-files.ts), for
 * the size selector's model (the reference at 28 or 32 pixels, or pytorch/examples' dcgan64).
 *
 * Training runs through the same loop as the CLI (src/train/run-loop.ts): the same NaN policy,
 * log cadence, grids and loss chart. Each checkpoint (the CLI's files, same bytes) goes to
 * IndexedDB (web/checkpoint-store.ts), the last one per run, so a reload offers to resume it or
 * download it; the download buttons give the current weights, or after a lost GPU device the
 * last checkpoint.
 */
import { drawGrid, LoadedGenerator, loadGenerator } from '../src/embed.js';
import { FILES, modelStateDict, serialize } from '../src/model/state-dict.js';
import { HEADS } from '../src/shaders/conditional.js';
import { checkChoice, checkInt, numberFromText } from '../src/config/checks.js';
import { classRows } from '../src/model/sample.js';
import { loadRunState, runConfigFromMetadata, runMetadata, runStateFiles } from '../src/checkpoints/run-state.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { clearRuns, putRun, savedRuns, type SavedRun } from './checkpoint-store.js';
import { TrainingRun } from '../src/train/run-loop.js';
import { GanTrainer, REFERENCE_CONFIG } from '../src/train/trainer.js';
import { requestGpu, type Gpu } from '../src/gpu/gpu.js';
import { formatCeilings, gemmShare, profileCells, profileColumns, profileMethod, profileTable, type KernelProfile } from '../src/gpu/profiler.js';
import { adapterCeilings } from '../src/layers/adapter-ceilings.js';
import { imageSetFromIdx, type ImageSet } from '../src/data/idx.js';
import { imageSetFromFiles } from './image-files.js';
import { ARCHS, archDefaults, type Arch } from '../src/model/models.js';

interface PageState {
  adapter?: string;
  error?: string;
  step: number;
  losses: Array<{ step: number; d: number; g: number }>;
  samples?: Float32Array;
  gridDrawnAtStep?: number;
  done?: boolean;
  profile?: KernelProfile[];
  /** Step of the last checkpoint (in memory and in IndexedDB). */
  savedStep?: number;
  /** The newest run found in IndexedDB when the page opened: its step, or null when none. */
  storedStep?: number | null;
  /** Step the trainer resumed from (a stored run), if it did. */
  resumedStep?: number;
  /** The class the last samples were drawn for (a conditional generator): a label, all, or null (none asked). */
  drawnLabel?: number | 'all' | null;
  /** Every status line shown, in order (tests read the plan-building progress). */
  statusLog: string[];
  /** The data the run trains on: MNIST, or the picked images as loaded (tests compare them with Node's). */
  data?: { source: string; count: number; channels: number; size: number; classNames: readonly string[]; bad: number; checksum: number };
}
const state: PageState = { step: 0, losses: [], statusLog: [] };
(window as unknown as { __dcgan: PageState }).__dcgan = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
/** An integer URL parameter, checked like the CLI's flags (`min` and up). */
const intParam = (name: string, fallback: number, min = 1) => {
  const v = params.get(name);
  return v === null ? fallback : checkInt(numberFromText(v), name, min, undefined, v);
};
/** An integer from a form field, checked the same way. */
const intField = (id: string, min: number) => {
  const text = $<HTMLInputElement>(id).value;
  return checkInt(numberFromText(text), id, min, undefined, text);
};

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  state.statusLog.push(text);
  el.classList.toggle('error', error);
  if (error) state.error = text;
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

  let trainer: GanTrainer | null = null;
  let run: TrainingRun | null = null;
  let running = false;
  let looping: Promise<void> = Promise.resolve();
  let generator: LoadedGenerator | null = null;
  /** The last checkpoint, kept on the host: it survives a lost device. */
  let saved: { step: number; G: Uint8Array; D: Uint8Array; all: Array<[string, Uint8Array]> } | null = null;
  // A handle for tests: lose the device as a driver reset would.
  (window as unknown as { __dcganTest: object }).__dcganTest = { loseDevice: () => gpu.device.destroy() };
  // While training, the run's own error reports the loss (with the kept checkpoint); otherwise here.
  void gpu.device.lost.then((info) => {
    if (!running && !state.error) status(`The GPU device was lost (${info.reason}): ${info.message}. Reload the page to start again.`, true);
  });
  let settings;
  try {
    settings = {
      batch: intParam('batch', 64),
      seed: intParam('seed', 0, 0),
      maxSteps: params.has('steps') ? intParam('steps', 0) : null,
      refresh: intParam('refresh', 10),
      logEvery: intParam('logEvery', 5),
      checkpointEvery: intParam('checkpointEvery', 100),
      conditional: params.has('conditional') ? checkChoice(params.get('conditional')!, 'conditional', HEADS) : null,
    };
  } catch (err) {
    status(`Bad URL parameter: ${(err as Error).message}`, true);
    return;
  }
  const { maxSteps, refresh, logEvery, checkpointEvery } = settings;
  const set = await loadMnist();
  state.data = { source: 'MNIST', count: set.count, channels: 1, size: 28, classNames: set.classNames ?? [], bad: 0, checksum: 0 };
  status(`Adapter: ${state.adapter}. MNIST: ${set.count} images. Ready.`);
  for (const id of ['start', 'ckpt-load']) $<HTMLButtonElement>(id).disabled = false;
  $<HTMLInputElement>('batch').value = String(settings.batch);
  $<HTMLInputElement>('seed').value = String(settings.seed);
  if (settings.conditional) $<HTMLSelectElement>('conditional').value = settings.conditional;
  /** This run's id in IndexedDB: a resumed run keeps the stored run's. */
  let runId = Date.now();

  // The user's images: kept as files until a run starts (they are resized for its model then).
  let picked: File[] | null = null;
  const pick = (files: File[]) => {
    picked = files.length ? files : null;
    if (picked) status(`Picked ${picked.length} files${picked[0]!.webkitRelativePath ? ` from ${picked[0]!.webkitRelativePath.split('/')[0]}` : ''}: they are decoded and resized when training starts.`);
  };
  $<HTMLInputElement>('folder').addEventListener('change', (e) => pick([...((e.target as HTMLInputElement).files ?? [])]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    pick([...(e.dataTransfer?.files ?? [])]);
  });

  /** The data for a model of `size` pixels (`channels`: a resumed run's): MNIST, or the picked images. */
  async function dataFor(size: number, channels?: number): Promise<ImageSet> {
    if (!picked) {
      if (size !== 28 || (channels ?? 1) !== 1) throw new Error(`a ${channels ?? 1}x${size}x${size} model needs your images: pick a folder (MNIST is 1x28x28)`);
      return set;
    }
    const { set: images, report } = await imageSetFromFiles(picked, { size, ...(channels ? { channels } : {}), log: status });
    const skipped = report.bad.length ? `; ${report.bad.length} skipped (${report.bad[0]!.file}: ${report.bad[0]!.reason}${report.bad.length > 1 ? ', …' : ''})` : '';
    const upscaled = report.upscaled.count ? `; ${report.upscaled.count} smaller than ${size} px, upscaled` : '';
    status(`Images: ${images.count} ${images.channels === 3 ? 'RGB' : 'grey'} from ${images.source}, ${report.classes.length} class${report.classes.length > 1 ? 'es' : ''} (${report.classes.map((c) => `${c.name} ${c.count}`).join(', ')}), resized to ${size}x${size}${skipped}${upscaled}.`);
    let checksum = 0;
    for (let i = 0; i < images.pixels.length; i++) checksum = (checksum * 31 + images.pixels[i]!) >>> 0;
    state.data = { source: images.source, count: images.count, channels: images.channels, size, classNames: images.classNames ?? [], bad: report.bad.length, checksum };
    return images;
  }

  /** The checkpoint files of the trainer's state (the CLI's bytes), with the two models' for downloads. */
  async function checkpointFiles(t: GanTrainer): Promise<{ step: number; G: Uint8Array; D: Uint8Array; all: Array<[string, Uint8Array]> }> {
    const all = await runStateFiles(t);
    const file = (name: string) => all.find(([n]) => n === name)![1];
    return { step: t.globalStep, G: file(FILES.G), D: file(FILES.D), all };
  }

  function newRun(t: GanTrainer): TrainingRun {
    return new TrainingRun(
      t,
      { maxSteps, logEvery, stepsPerSubmit: 1, checkpointEvery: { steps: checkpointEvery }, gridEvery: refresh },
      {
        onSteps: ({ step, epoch, batch, stepsPerSecond }) => {
          state.step = step;
          $('step').textContent = String(step);
          $('epoch').textContent = String(epoch + 1);
          $('batch-index').textContent = String(batch + 1);
          $('rate').textContent = stepsPerSecond.toFixed(2);
        },
        onMetrics: (row) => {
          $('d-loss').textContent = row.d_loss.toFixed(4);
          $('g-loss').textContent = row.g_loss.toFixed(4);
          const chart = run!.lossChart();
          if (chart) drawGrid($('chart'), chart);
        },
        onGrid: (grid) => {
          drawGrid($('grid'), grid);
          state.gridDrawnAtStep = t.globalStep;
        },
        save: async () => {
          saved = await checkpointFiles(t);
          await putRun({ id: runId, savedAt: Date.now(), step: t.globalStep, epoch: t.epoch, batchIndex: t.batchIndex, batchSize: t.config.batchSize, seed: t.config.seed, files: saved.all });
          state.savedStep = saved.step;
          showStored();
        },
        between: () => new Promise((r) => setTimeout(r, 0)), // let the page breathe
      },
    );
  }

  async function loop(): Promise<void> {
    const ended = await run!.run();
    if (ended === 'finished') {
      running = false;
      state.done = true;
      $<HTMLButtonElement>('pause').disabled = true;
      $<HTMLButtonElement>('start').textContent = 'Done';
    }
  }

  const tune = params.get('tune') === 'off' ? 'off' : REFERENCE_CONFIG.tune;
  /**
   * Builds the trainer (from a stored run when given) and its run; false, with the reason shown,
   * when it cannot. Compiling the plan's kernels and timing GEMM shapes can take minutes on a CPU
   * adapter: the status line says which kernel or shape it is at.
   */
  async function build(from?: SavedRun): Promise<boolean> {
    const began = performance.now();
    const elapsed = () => `${((performance.now() - began) / 1000).toFixed(0)} s`;
    let tuned = 0;
    // How many kernels this plan took when this browser last built it (the first build cannot know).
    const planKey = `webgpu-dcgan.plan-kernels|${state.adapter}|${from ? 'stored' : `${$<HTMLSelectElement>('conditional').value}|${$<HTMLSelectElement>('arch').value}|${$<HTMLInputElement>('batch').value}`}|${tune}`;
    const expected = Number(localStorage.getItem(planKey)) || null;
    gpu.onCompile = (kernel, count) => status(`Building the training plan: compiling kernel ${count - compiledBefore}${expected ? ` of ${expected}` : ''} (${kernel}), ${elapsed()}…`);
    GanTrainer.tuneLog = (line) => {
      if (/^tune\s+matmul|^tune\s+conv/.test(line)) tuned++;
      status(`Timing GEMM variants on this adapter (once, then cached): shape ${tuned + 1}, ${elapsed()}… ${line.replace(/^tune\s+/, '')}`);
    };
    const compiledBefore = gpu.compiledKernels;
    try {
      if (from) {
        const files = new Map(from.files.map(([name, bytes]) => [name, { file: `stored ${name}`, bytes }]));
        const opt = files.get(FILES.optimizer);
        if (!opt) throw new Error(`the stored run lacks ${FILES.optimizer}`);
        const config = { ...REFERENCE_CONFIG, ...runConfigFromMetadata(parseSafetensors(opt.bytes, opt.file).metadata, opt.file), tune };
        trainer = await GanTrainer.create(gpu, await dataFor(config.imageSize, config.channels), config);
        loadRunState(files, trainer, 'the stored checkpoint');
        runId = from.id;
        state.resumedStep = trainer.globalStep;
        $<HTMLInputElement>('batch').value = String(trainer.config.batchSize);
        $<HTMLInputElement>('seed').value = String(trainer.config.seed);
        $<HTMLSelectElement>('conditional').value = trainer.config.conditional;
      } else {
        const conditional = checkChoice($<HTMLSelectElement>('conditional').value, 'model', ['none', ...HEADS]);
        const [arch, size] = $<HTMLSelectElement>('arch').value.split('-') as [Arch, string];
        checkChoice(arch, 'size', ARCHS);
        const width = intField('width', 1);
        const data = await dataFor(Number(size));
        const classes = data.classNames?.length ?? 10;
        if (conditional !== 'none' && classes < 2) throw new Error(`a conditional model needs at least 2 classes (subfolders); ${data.source} has ${classes}`);
        trainer = await GanTrainer.create(gpu, data, {
          ...REFERENCE_CONFIG,
          batchSize: intField('batch', 1),
          seed: intField('seed', 0),
          tune,
          conditional,
          classes,
          arch,
          imageSize: Number(size),
          channels: data.channels,
          ngf: width,
          ndf: width,
          init: archDefaults(arch).init,
        });
      }
      await trainer.plan(trainer.config.batchSize);
    } catch (err) {
      trainer = null;
      status(`Could not build the training plan: ${(err as Error).message}`, true);
      return false;
    } finally {
      gpu.onCompile = null;
      GanTrainer.tuneLog = () => {};
    }
    status(`Adapter: ${state.adapter}. Training plan built (${gpu.compiledKernels - compiledBefore} kernels, ${elapsed()}).`);
    if (gpu.compiledKernels > compiledBefore) localStorage.setItem(planKey, String(gpu.compiledKernels - compiledBefore));
    if (trainer.config.conditional !== 'none') $('grid-caption').textContent = `one row per class (${trainer.classNames.join(', ')}), G in eval mode`;
    run = newRun(trainer);
    state.losses = run.curve; // the run's own loss-curve points (tests read them)
    state.step = trainer.globalStep;
    $('step').textContent = String(trainer.globalStep);
    for (const id of ['batch', 'seed', 'conditional', 'arch', 'width', 'folder']) $<HTMLInputElement>(id).disabled = true;
    for (const id of ['download-g', 'download-d', 'use-trained', 'profile']) $<HTMLButtonElement>(id).disabled = false;
    $<HTMLButtonElement>('stored-resume').disabled = true;
    return true;
  }

  // The newest stored run, if any: offered for resuming or downloading after a reload.
  let stored: SavedRun | null = null;
  function showStored(): void {
    void savedRuns().then((runs) => {
      stored = runs[runs.length - 1] ?? null;
      const el = $('stored-status');
      el.textContent = stored
        ? `Saved in this browser: a run at step ${stored.step} (epoch ${stored.epoch + 1}, batch ${stored.batchSize}, seed ${stored.seed}), ${new Date(stored.savedAt).toLocaleString()}${runs.length > 1 ? `; ${runs.length} runs kept` : ''}.`
        : 'No checkpoint saved in this browser.';
      $<HTMLButtonElement>('stored-resume').disabled = !stored || trainer !== null;
      $<HTMLButtonElement>('stored-download').disabled = !stored;
      $<HTMLButtonElement>('stored-clear').disabled = runs.length === 0;
      if (state.storedStep === undefined) state.storedStep = stored?.step ?? null;
    }).catch((err) => ($('stored-status').textContent = `Saved checkpoints unavailable: ${(err as Error).message}`));
  }
  showStored();
  $('stored-resume').addEventListener('click', async () => {
    if (!stored || trainer || running) return;
    if (await build(stored)) $('start').click();
  });
  $('stored-download').addEventListener('click', () => {
    const g = stored?.files.find(([name]) => name === FILES.G);
    if (g) download(g[1], FILES.G);
  });
  $('stored-clear').addEventListener('click', () => void clearRuns().then(showStored));

  $('start').addEventListener('click', async () => {
    if (running) return;
    if (!trainer && !(await build())) return;
    running = true;
    $<HTMLButtonElement>('start').disabled = true;
    $<HTMLButtonElement>('pause').disabled = false;
    looping = loop().catch((err) => {
      running = false;
      $<HTMLButtonElement>('pause').disabled = true;
      const kept = saved ? ` The last checkpoint (step ${saved.step}) is kept: the download buttons give it.` : '';
      status(`Training stopped: ${(err as Error).message.replace(/\.$/, '')}.${kept}`, true);
    });
  });
  $('pause').addEventListener('click', () => {
    running = false;
    run?.stop(); // ends after this step, saving (in memory) and drawing the grid
    $<HTMLButtonElement>('start').disabled = false;
    $<HTMLButtonElement>('start').textContent = 'Resume';
    $<HTMLButtonElement>('pause').disabled = true;
  });
  // The current weights; once the device is lost, the last checkpoint (the weights on the GPU are gone).
  const downloadModel = async (which: 'G' | 'D') => {
    const files = gpu.isLost ? saved : await checkpointFiles(trainer!);
    if (!files) return status('The GPU device was lost before the first checkpoint: nothing to download.', true);
    download(which === 'G' ? files.G : files.D, which === 'G' ? 'generator.safetensors' : 'discriminator.safetensors');
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
      const ceilings = await adapterCeilings(gpu, { log: (line) => ($('profile-status').textContent = `Measuring this adapter's roofs (once): ${line.replace(/^ceilings\s+/, '')}`) });
      const { plan, timed } = await t.profileStep();
      const rows = profileTable(timed, ceilings);
      state.profile = rows;
      const total = timed.reduce((a, d) => a + d.durUs, 0) / 1000;
      $('profile-status').textContent = `Step ${t.globalStep} at batch ${plan.batch}: ${total.toFixed(1)} ms in ${timed.length} dispatches, ${(100 * gemmShare(rows)).toFixed(1)}% in GEMMs (${profileMethod(gpu)}). ${formatCeilings(ceilings).replace(/^roofs\s+/, 'Roofs: ')}.`;
      const row = (cells: string[], tag: 'td' | 'th') => {
        const tr = document.createElement('tr');
        for (const cell of cells) {
          const td = document.createElement(tag);
          td.textContent = cell;
          tr.append(td);
        }
        return tr;
      };
      $('profile-table').querySelector('thead')!.replaceChildren(row(profileColumns(true), 'th'));
      $('profile-table').querySelector('tbody')!.replaceChildren(...rows.map((r) => row(profileCells(r), 'td')));
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
    $('ckpt-status').textContent = `Loaded ${from} (latent ${g.latentDim}${g.classes ? `, conditional on ${g.classes.length} classes` : ''}).`;
    for (const id of ['draw', 'interpolate']) $<HTMLButtonElement>(id).disabled = false;
    // A conditional generator gets a button per class.
    $('classes').hidden = !g.classes;
    $('class-buttons').replaceChildren(
      ...(g.classes ?? []).map((name, k) => {
        const b = Object.assign(document.createElement('button'), { textContent: name, id: `class-${k}` });
        b.addEventListener('click', () => void drawSamples(k));
        return b;
      }),
    );
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
    // The run's metadata goes with it: a conditional generator is loaded as one.
    const bytes = serialize(await modelStateDict(gpu, t.G, t.globalStep), runMetadata(t));
    await loadFrom(new File([bytes.slice()], `generator at step ${t.globalStep}`), `the generator at step ${t.globalStep}`);
  });
  /** 25 samples (of class `label` for a conditional generator; without one, the classes in turn), or one row per class ('all'). */
  async function drawSamples(label?: number | 'all'): Promise<void> {
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
  $('draw').addEventListener('click', () => void drawSamples());
  $('class-all').addEventListener('click', () => void drawSamples('all'));
  $('interpolate').addEventListener('click', async () => {
    if (!generator) return;
    await generator.interpolate(Number($<HTMLInputElement>('seed-a').value), Number($<HTMLInputElement>('seed-b').value), 10);
    generator.drawTo($('strip'), { nrow: 10 });
  });

  if (params.get('autostart') === '1') $('start').click();
}

main().catch((err) => status(`Page failed: ${(err as Error).message}`, true));
