/** How the page writes numbers (the test reads them back with the same precision). */

/** J and other values: 10 significant digits. */
export const fmtValue = (x: number): string => x.toPrecision(10);
/** Relative errors and residuals: 3 significant digits in exponent form. */
export const fmtRel = (x: number): string => x.toExponential(2);
/** Ratios and biases: 6 significant digits. */
export const fmtRatio = (x: number): string => x.toPrecision(6);
/** A matrix or vector entry in a table. */
export const fmtEntry = (x: number): string => (x === 0 ? '0' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(5) : x.toExponential(3));
