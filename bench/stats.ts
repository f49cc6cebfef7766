// Figures the benches print.

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A verdict against a target, as the benches print it. */
export const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');
