/**
 * `train --eval-every`: each in-run score as a metrics.jsonl row, the quality curve as a PNG, and
 * a console line (with a warning when classes are dropped).
 */
import { appendFileSync } from 'node:fs';
import type { GeneratorEvaluator } from '../eval/evaluate.js';
import { lossCurve } from '../image/images.js';
import { encodePng } from '../image/png.js';
import { writeFileAtomic } from '../checkpoints/run-files.js';
import { conditionalJson, formatKid, formatSpread } from './eval.js';

type Rgb = [number, number, number];

/**
 * The run loop's `evaluate` hook: scores G, appends the row, redraws the curve, prints the line.
 * `classes` false: the evaluator learned rotations, so its histogram, class ratio and mode-dropping
 * warning say nothing of G's samples and are left out.
 */
export function qualityScorer(evaluator: GeneratorEvaluator, metricsFile: string, curveFile: string, print: (line: string) => void, classes = true) {
  const quality: Array<{ step: number; fd: number; accuracy?: number }> = [];
  return async (step: number, epoch: number): Promise<{ spread: number }> => {
    const q = await evaluator.evaluate(0);
    const ref = evaluator.reference;
    const kid = q.kid && ref.kidFloor ? { kid: q.kid.kid, kid_se: q.kid.standardError, kid_floor: ref.kidFloor.kid } : {};
    const perClass = classes ? { confidence: q.confidence, max_min_ratio: q.maxMinRatio, histogram: q.histogram, ...conditionalJson(q) } : {};
    const row = { kind: 'quality', epoch, step, fd: q.fd, fd_floor: ref.floor, ...kid, spread: q.spread, ...perClass, samples: q.n };
    appendFileSync(metricsFile, `${JSON.stringify(row)}\n`);
    quality.push({ step, fd: q.fd, accuracy: q.conditional?.accuracy });
    if (quality.length > 1) {
      const series = [{ values: quality.map((p) => p.fd), color: [44, 160, 44] as Rgb, label: 'FD' }];
      // A conditional run's accuracy in percent, on the same axis (FD runs from a few hundred down).
      if (q.conditional) series.push({ values: quality.map((p) => 100 * (p.accuracy ?? 0)), color: [148, 103, 189], label: 'conditional accuracy %' });
      writeFileAtomic(curveFile, encodePng(lossCurve(quality.map((p) => p.step), series)));
    }
    const kidText = q.kid ? `, KID ${formatKid(q.kid)}` : '';
    const classText = classes ? `, confidence ${q.confidence.toFixed(3)}, max/min class ${q.maxMinRatio.toFixed(2)}${q.conditional ? `, conditional accuracy ${(100 * q.conditional.accuracy).toFixed(1)}%` : ''}` : '';
    print(`quality  step ${step}: FD ${q.fd.toFixed(2)} (real data ${ref.floor.toFixed(2)})${kidText}, spread ${formatSpread(q.spread)}${classText}`);
    if (classes && q.rareClasses.length) print(`warning  step ${step}: classes ${q.rareClasses.join(', ')} under a third of their fair share (mode dropping)`);
    return { spread: q.spread };
  };
}
