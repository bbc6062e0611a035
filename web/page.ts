/**
 * What every part of the page shares: the state the tests read (window.__dcgan), element
 * lookup, the status line and file downloads.
 */
import type { KernelProfile } from '../src/gpu/profiler.js';

export interface PageState {
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
  /** performance.now() when the shipped generator's first samples were drawn (the page opened at 0). */
  shippedAt?: number;
  /** The run's health warnings (src/train/health.ts), in order. */
  warnings?: Array<{ kind: string; step: number; message: string }>;
  /** Every status line shown, in order (tests read the plan-building progress). */
  statusLog: string[];
  /** The data the run trains on: MNIST, or the picked images as loaded (tests compare them with Node's). */
  data?: { source: string; count: number; channels: number; size: number; classNames: readonly string[]; bad: number; checksum: number };
}

export const state: PageState = { step: 0, losses: [], statusLog: [] };
(window as unknown as { __dcgan: PageState }).__dcgan = state;

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const button = (id: string) => $<HTMLButtonElement>(id);

export function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  state.statusLog.push(text);
  el.classList.toggle('error', error);
  if (error) state.error = text;
}

/** Shows the run's step in the stats line (and where the tests read it). */
export function showStep(step: number): void {
  state.step = step;
  $('step').textContent = String(step);
}

export function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
