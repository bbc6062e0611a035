/**
 * kill -9 at random moments, many times, and nothing is lost: after every kill the run directory
 * holds a complete latest checkpoint (or none before the first save), `--resume` continues from
 * it, and each run driven to its end through kills finishes bit-identical (all three checkpoint
 * files, byte for byte, and metrics.jsonl's steps) to the same run never interrupted.
 *
 * Half the kills wait for a save in progress (a `.tmp-` directory appearing, polled every few
 * milliseconds), so kills inside the save are certain, not lucky; the others come after a
 * random delay. The worker process (dist/cli/main.js) is the one killed: it holds the state.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILES } from '../src/gan/checkpoint.js';
import { latestCheckpoint } from '../src/gan/run-files.js';
import { parseSafetensors } from '../src/io/safetensors.js';

const KILLS = 20;
// 3 epochs x 5 batches of 8 = 15 steps, a checkpoint after every step: saves are a large share of the time.
const RUN = ['--backend', 'gles', '--batch-size', '8', '--limit-batches', '5', '--epochs', '3', '--log-every', '1', '--checkpoint-every', '1', '--keep', '2', '--seed', '3'];
const WORKER = 'dist/cli/main.js';
const env = { ...process.env, WEBGPU_DCGAN_TUNE: 'off' };
const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-kill-'));

function metricsSteps(dir: string): number[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
}

/** The latest checkpoint is whole: three files that parse and agree on the step its name says. */
function assertLatestComplete(dir: string): number | null {
  const latest = latestCheckpoint(dir);
  if (latest === null) return null;
  const steps = Object.values(FILES).map((f) => parseSafetensors(new Uint8Array(readFileSync(join(latest, f))), f).metadata.step);
  expect(new Set(steps).size, `${latest}: ${steps}`).toBe(1);
  expect(latest.endsWith(`step-${steps[0]!.padStart(8, '0')}`)).toBe(true);
  return Number(steps[0]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9', () => {
  it(`after ${KILLS} random SIGKILLs (half of them mid-save) --resume finishes bit-identical to an uninterrupted run`, async () => {
    const reference = tmp();
    const r = spawnSync(process.execPath, [WORKER, 'train', ...RUN, '--out', reference], { encoding: 'utf8', env, timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const referenceFiles = Object.values(FILES).map((f) => readFileSync(join(latestCheckpoint(reference)!, f)));

    let kills = 0;
    let midSave = 0;
    let finishedRuns = 0;
    const resumedFrom: number[] = [];
    const deadline = Date.now() + 600_000;
    while (kills < KILLS) {
      expect(Date.now() < deadline, 'kill test ran out of time').toBe(true);
      const dir = tmp();
      // One run driven to its end through kills and resumes.
      for (;;) {
        const saved = assertLatestComplete(dir);
        const args = saved === null ? ['train', ...RUN, '--out', dir] : ['train', '--backend', 'gles', '--resume', dir, '--limit-batches', '5', '--epochs', '3', '--log-every', '1', '--checkpoint-every', '1', '--keep', '2'];
        if (saved !== null) resumedFrom.push(saved);
        const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
        let done = false;
        void exited.then(() => (done = true));
        const waitForSave = kills % 2 === 0;
        const until = Date.now() + (waitForSave ? 60_000 : 300 + Math.random() * 3500);
        let sawSave = false;
        while (!done && Date.now() < until && kills < KILLS) {
          if (waitForSave && existsSync(join(dir, 'checkpoints')) && readdirSync(join(dir, 'checkpoints')).some((n) => n.startsWith('.tmp-'))) {
            sawSave = true;
            break;
          }
          await sleep(waitForSave ? 2 : 20);
        }
        if (!done && kills < KILLS) {
          child.kill('SIGKILL');
          await exited;
          kills++;
          if (sawSave) midSave++;
          continue;
        }
        const code = await exited;
        expect(code, err).toBe(0);
        break;
      }
      // Driven to its end: the same bytes as the run never interrupted.
      assertLatestComplete(dir);
      const files = Object.values(FILES).map((f) => readFileSync(join(latestCheckpoint(dir)!, f)));
      files.forEach((bytes, i) => expect(bytes.equals(referenceFiles[i]!), `${Object.values(FILES)[i]} differs from the uninterrupted run`).toBe(true));
      expect(metricsSteps(dir)).toEqual(metricsSteps(reference));
      finishedRuns++;
    }
    console.log(`kill -9: ${kills} kills (${midSave} during a save), ${resumedFrom.length} resumes from steps [${resumedFrom.join(', ')}], ${finishedRuns} runs finished bit-identical to the uninterrupted one`);
    expect(midSave).toBeGreaterThanOrEqual(KILLS / 2 - 1);
  }, 900_000);
});
