/**
 * kill -9 at random moments, many times, and nothing is lost: after every kill the run directory
 * holds a complete latest checkpoint (or none before the first save), `--resume` continues from
 * it, and each run driven to its end through kills finishes bit-identical (all three checkpoint
 * files, byte for byte, and metrics.jsonl's steps) to the same run never interrupted.
 *
 * Half the kills wait for a save in progress (a `.tmp-` directory appearing, polled every few
 * milliseconds), so kills inside the save are certain, not lucky; the others come after a
 * random delay. The worker process (dist/cli/main.js) is the one killed: it holds the state.
 *
 * The same for SIGTERM (what docker stop, Kubernetes and systemd send): the run saves and exits
 * 143, and resuming after every stop ends bit-identical too.
 *
 * Every random delay comes from one seed, printed with the results: CRASH_SEED=N replays a run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILES } from '../src/model/state-dict.js';
import { latestCheckpoint } from '../src/checkpoints/run-files.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { seeded } from './helpers/seeded.js';
import { ENV as CLI_ENV } from './helpers/cli.js';

const KILLS = 20;
// 3 epochs x 5 batches of 8 = 15 steps, a checkpoint after every step: saves are a large share of the time.
const RUN = ['--backend', 'gles', '--batch-size', '8', '--limit-batches', '5', '--epochs', '3', '--log-every', '1', '--checkpoint-every', '1', '--keep', '2', '--seed', '3'];
const WORKER = 'dist/cli/main.js';
const env = { ...process.env, ...CLI_ENV };
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

const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : Math.floor(Math.random() * 2 ** 31);
const random = seeded(SEED);
console.log(`crash test: CRASH_SEED=${SEED}`);

const resumeArgs = (dir: string) => ['train', '--backend', 'gles', '--resume', dir, '--limit-batches', '5', '--epochs', '3', '--log-every', '1', '--checkpoint-every', '1', '--keep', '2'];

/** The uninterrupted run's final files and metrics steps. */
function referenceRun(): { files: Buffer[]; steps: number[] } {
  const reference = tmp();
  const r = spawnSync(process.execPath, [WORKER, 'train', ...RUN, '--out', reference], { encoding: 'utf8', env, timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  return { files: Object.values(FILES).map((f) => readFileSync(join(latestCheckpoint(reference)!, f))), steps: metricsSteps(reference) };
}

/** A run driven to its end through interruptions ends with the uninterrupted run's bytes. */
function assertSameAsReference(dir: string, reference: { files: Buffer[]; steps: number[] }): void {
  assertLatestComplete(dir);
  const files = Object.values(FILES).map((f) => readFileSync(join(latestCheckpoint(dir)!, f)));
  files.forEach((bytes, i) => expect(bytes.equals(reference.files[i]!), `${Object.values(FILES)[i]} differs from the uninterrupted run (CRASH_SEED=${SEED})`).toBe(true));
  expect(metricsSteps(dir)).toEqual(reference.steps);
}

describe('kill -9', () => {
  it(`after ${KILLS} random SIGKILLs (half of them mid-save) --resume finishes bit-identical to an uninterrupted run`, async () => {
    const reference = referenceRun();

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
        const args = saved === null ? ['train', ...RUN, '--out', dir] : resumeArgs(dir);
        if (saved !== null) resumedFrom.push(saved);
        const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
        let done = false;
        void exited.then(() => (done = true));
        const waitForSave = kills % 2 === 0;
        const until = Date.now() + (waitForSave ? 60_000 : 300 + random() * 3500);
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
      assertSameAsReference(dir, reference);
      finishedRuns++;
    }
    console.log(`kill -9: ${kills} kills (${midSave} during a save), ${resumedFrom.length} resumes from steps [${resumedFrom.join(', ')}], ${finishedRuns} runs finished bit-identical to the uninterrupted one (CRASH_SEED=${SEED})`);
    expect(midSave).toBeGreaterThanOrEqual(KILLS / 2 - 1);
  }, 900_000);
});

const STOPS = 10;

describe('SIGTERM', () => {
  it(`after ${STOPS} SIGTERMs at random moments, each saving and exiting 143, --resume finishes bit-identical to an uninterrupted run`, async () => {
    const reference = referenceRun();
    const dir = tmp();
    const stoppedAt: number[] = [];
    let finished = false;
    while (!finished) {
      const saved = assertLatestComplete(dir);
      const child = spawn(process.execPath, [WORKER, ...(saved === null ? ['train', ...RUN, '--out', dir] : resumeArgs(dir))], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let err = '';
      let out = '';
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => (out += d));
      // 'close', not 'exit': its stdout is read to the end before the code is judged.
      const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
      if (stoppedAt.length < STOPS) {
        // Once the run trains (its "run" line is printed as the stop handler is armed), a random moment within ~1.5 s.
        const until = Date.now() + 60_000;
        while (!/^run /m.test(out) && child.exitCode === null && Date.now() < until) await sleep(5);
        await sleep(random() * 1500);
        child.kill('SIGTERM');
      }
      const code = await exited;
      // A SIGTERM in the last milliseconds of a finished run, after it let go of its handlers (Node's
      // native teardown), ends the process by the signal (code null): allowed once it printed `done`.
      if (code === 0 || (code === null && /^done /m.test(out))) {
        finished = true;
      } else {
        expect(code, err).toBe(143);
        const at = assertLatestComplete(dir);
        expect(at, 'a stopped run saved no checkpoint').not.toBeNull();
        stoppedAt.push(at!);
      }
      // A run that finished before its SIGTERM arrived starts again from scratch, as a fresh directory would.
      if (finished && stoppedAt.length < STOPS) {
        assertSameAsReference(dir, reference);
        finished = false;
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      }
    }
    assertSameAsReference(dir, reference);
    console.log(`SIGTERM: ${stoppedAt.length} stops, saved at steps [${stoppedAt.join(', ')}], finished bit-identical (CRASH_SEED=${SEED})`);
  }, 900_000);
});
