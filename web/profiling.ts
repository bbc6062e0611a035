/**
 * Profile one step: one real step of the run, every dispatch timed alone, shown as the table
 * `train --profile` prints, against this adapter's roofs.
 */
import type { Gpu } from '../src/gpu/gpu.js';
import { adapterCeilings } from '../src/layers/adapter-ceilings.js';
import { rooflineChart } from '../src/image/roofline.js';
import { drawGrid } from '../src/embed.js';
import { formatCeilings, gemmShare, profileCells, profileColumns, profileMethod, profileTable, type Ceilings, type KernelProfile, type TimedDispatch } from '../src/gpu/profiler.js';
import { $, button, showStep, state } from './page.js';
import type { TrainingControls } from './training-controls.js';

const note = (text: string) => ($('profile-status').textContent = text);

function tableRow(cells: string[], tag: 'td' | 'th'): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement(tag);
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function showTable(rows: readonly KernelProfile[]): void {
  const table = $('profile-table');
  table.querySelector('thead')!.replaceChildren(tableRow(profileColumns(true), 'th'));
  table.querySelector('tbody')!.replaceChildren(...rows.map((r) => tableRow(profileCells(r), 'td')));
  table.hidden = false;
}

function summary(gpu: Gpu, step: number, batch: number, timed: readonly TimedDispatch[], rows: readonly KernelProfile[], ceilings: Ceilings): string {
  const total = timed.reduce((a, d) => a + d.durUs, 0) / 1000;
  const roofs = formatCeilings(ceilings).replace(/^roofs\s+/, 'Roofs: ');
  return `Step ${step} at batch ${batch}: ${total.toFixed(1)} ms in ${timed.length} dispatches, ${(100 * gemmShare(rows)).toFixed(1)}% in GEMMs (${profileMethod(gpu)}). ${roofs}.`;
}

/** Profiles the trainer's next step between steps, paused (Resume continues the run). */
async function profileOneStep(gpu: Gpu, controls: TrainingControls): Promise<void> {
  const t = controls.trainer!;
  if (controls.running) $('pause').click();
  await controls.looping;
  button('profile').disabled = true;
  note('Profiling one step…');
  try {
    await gpu.sync('profile');
    const ceilings = await adapterCeilings(gpu, { log: (line) => note(`Measuring this adapter's roofs (once): ${line.replace(/^ceilings\s+/, '')}`) });
    const { plan, timed } = await t.profileStep();
    const rows = profileTable(timed, ceilings);
    state.profile = rows;
    note(summary(gpu, t.globalStep, plan.batch, timed, rows, ceilings));
    showTable(rows);
    const chart = $<HTMLCanvasElement>('roofline');
    drawGrid(chart, rooflineChart(rows, ceilings));
    chart.hidden = false;
    showStep(t.globalStep);
  } catch (err) {
    note(`Profiling failed: ${(err as Error).message}`);
  } finally {
    button('profile').disabled = false;
  }
}

export function listenProfile(gpu: Gpu, controls: TrainingControls): void {
  $('profile').addEventListener('click', () => void profileOneStep(gpu, controls));
}
