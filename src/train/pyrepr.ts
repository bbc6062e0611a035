/**
 * Python's repr() of a float (what `print(f"{x}")` shows for `tensor.item()`): the shortest
 * decimal that round-trips the double, in fixed notation for 1e-4 <= |x| < 1e16 (always with a
 * fractional part, "2.0"), otherwise d.ddde-05 with a signed exponent of at least two digits.
 * The digits are JavaScript's (also shortest round-trip); only the layout differs.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}.${frac || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${sign}${m}e${e}`;
}

/** The reference notebook's log line. */
export function referenceLogLine(epoch: number, epochs: number, batch: number, batches: number, dLoss: number, gLoss: number): string {
  return `Epoch [${epoch}/${epochs}] Batch ${batch}/${batches} Loss D: ${pythonFloatRepr(dLoss)}, Loss G: ${pythonFloatRepr(gLoss)}`;
}
