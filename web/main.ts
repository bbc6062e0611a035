/**
 * The page: live training of the reference DCGAN and generation from a checkpoint, built from the
 * library's own src/ (no second implementation). Its URL parameters are web/url-params.ts's; a
 * bad value is shown in the status line and nothing starts.
 *
 * The user's own images (web/data-picker.ts): a picked folder or dropped files, decoded by the
 * browser and resized, classed and reported exactly as `train --data DIR` does it, for the size
 * selector's model (the reference at 28 or 32 pixels, or pytorch/examples' dcgan64).
 *
 * Training (web/training-controls.ts) runs through the same loop as the CLI. Each checkpoint (the
 * CLI's files, same bytes) goes to IndexedDB (web/stored-runs.ts), the last one per run, so a
 * reload offers to resume it or download it; the download buttons give the current weights, or
 * after a lost GPU device the last checkpoint. Profiling: web/profiling.ts; sampling from a
 * checkpoint: web/drawing.ts, which on opening draws digits from the shipped conditional
 * generator (models/, half precision), before and without any training.
 */
import { requestGpu, type Gpu } from '../src/gpu/gpu.js';
import { DataPicker, loadMnist } from './data-picker.js';
import { SampleDrawing } from './drawing.js';
import { $, button, state, status } from './page.js';
import { listenProfile } from './profiling.js';
import { StoredRuns } from './stored-runs.js';
import { TrainingControls } from './training-controls.js';
import { autostart, drawShipped, mnistBaseUrl, readSettings, type PageSettings } from './url-params.js';

async function openGpu(): Promise<Gpu | null> {
  try {
    return await requestGpu();
  } catch (err) {
    status(`WebGPU is not available: ${(err as Error).message}`, true);
    return null;
  }
}

function settingsOrNull(): PageSettings | null {
  try {
    return readSettings();
  } catch (err) {
    status(`Bad URL parameter: ${(err as Error).message}`, true);
    return null;
  }
}

/** The form starts from the URL's settings. */
function fillForm(settings: PageSettings): void {
  $<HTMLInputElement>('batch').value = String(settings.batch);
  $<HTMLInputElement>('seed').value = String(settings.seed);
  if (settings.conditional) $<HTMLSelectElement>('conditional').value = settings.conditional;
}

async function main(): Promise<void> {
  const gpu = await openGpu();
  if (!gpu) return;
  state.adapter = gpu.describe();
  status(`Adapter: ${state.adapter}. Loading MNIST…`);
  // A handle for tests: lose the device as a driver reset would.
  (window as unknown as { __dcganTest: object }).__dcganTest = { loseDevice: () => gpu.device.destroy() };
  let training: TrainingControls | null = null;
  // While training, the run's own error reports the loss (with the kept checkpoint); otherwise here.
  void gpu.device.lost.then((info) => {
    if (!training?.running && !state.error) status(`The GPU device was lost (${info.reason}): ${info.message}. Reload the page to start again.`, true);
  });
  const settings = settingsOrNull();
  if (!settings) return;
  // Digits at once, before MNIST loads and without training: the shipped conditional generator.
  const drawing = new SampleDrawing(gpu);
  const shipped = drawShipped() ? drawing.loadShipped('mnist-conditional', 'the shipped conditional MNIST generator') : null;
  const mnist = await loadMnist(mnistBaseUrl());
  const data = new DataPicker(mnist);
  status(`Adapter: ${state.adapter}. MNIST: ${mnist.count} images. Ready.`);
  for (const id of ['start', 'ckpt-load']) button(id).disabled = false;
  fillForm(settings);
  data.listen();

  const controls = (training = new TrainingControls(gpu, data, settings, () => stored.show()));
  const stored = new StoredRuns(controls);
  stored.show();
  stored.listen();
  controls.listen();
  listenProfile(gpu, controls);
  drawing.listen(() => controls.trainer!);
  await shipped;

  if (autostart()) $('start').click();
}

main().catch((err) => status(`Page failed: ${(err as Error).message}`, true));
