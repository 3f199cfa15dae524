/**
 * Charts: Vega-Lite specs rendered headless to SVG by Vega, and to PNG by resvg (no browser, no canvas).
 * Text uses DejaVu Sans (Debian's fonts-dejavu-core) when the system has it.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

export type { TopLevelSpec as ChartSpec };

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ config: { font: 'DejaVu Sans' }, ...spec } as TopLevelSpec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Rasterizes SVG to PNG (2× scale for legibility). */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
}

/** Writes `<base>.svg` and `<base>.png` for the spec and returns both paths. */
export async function writeChart(base: string, spec: TopLevelSpec): Promise<{ svg: string; png: string }> {
  mkdirSync(dirname(base), { recursive: true });
  const svg = await renderSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}
