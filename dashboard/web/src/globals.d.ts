import type UPlot from 'uplot';

declare global {
  /** uPlot, loaded by index.html as a classic script (/vendor/uPlot.iife.min.js). */
  const uPlot: typeof UPlot;
}

export {};
