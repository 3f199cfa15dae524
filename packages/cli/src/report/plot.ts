/**
 * Charts: Vega-Lite specs rendered headless to SVG by Vega, and to PNG by resvg (no browser, no canvas).
 * Text uses DejaVu Sans (Debian's fonts-dejavu-core) when the system has it.
 *
 * Without a canvas Vega guesses a text's width as 0.8 em per character, half again too wide for DejaVu
 * Sans, so a long title or subtitle used to widen a chart with empty space on the right. Vega lets a
 * user-defined `textMetrics.width` replace the guess (as vl-convert does); ours lays the text out with
 * resvg, the renderer that draws the PNG, and falls back to Vega's guess when no font is found.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { type ExplorationOptions, type ExplorePanel, explorationSpec } from './exploration.js';

/**
 * A Vega-Lite specification (https://vega.github.io/vega-lite/), as plain JSON. Public signatures use
 * this instead of vega-lite's own TopLevelSpec, whose typings need the DOM library: a Node project
 * type-checking against this package must not need `lib: ["DOM"]`.
 */
export type ChartSpec = { [key: string]: unknown };

const FONT = 'DejaVu Sans';
const widthCache = new Map<string, number | null>();
const xmlEscape = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

let warnedNoFont = false;
/** Says once per process that resvg finds no font: the charts' PNGs then have no text (their SVGs do). */
function warnNoFont(): void {
  if (warnedNoFont) return;
  warnedNoFont = true;
  process.emitWarning('no font found for the charts: their PNG files will have no text (the SVG files do); on Debian install fonts-dejavu-core and fontconfig-config', { code: 'METAGRAD_NO_FONT' });
}

/** The width in px of `text` as resvg draws it (cached per font and string); null when it cannot be measured. */
export function measureTextWidth(text: string, font: { size?: number; weight?: string | number; style?: string } = {}): number | null {
  const size = font.size ?? 11, weight = font.weight ?? 'normal', style = font.style ?? 'normal';
  const key = `${size}|${weight}|${style}|${text}`;
  const hit = widthCache.get(key);
  if (hit !== undefined) return hit;
  if (text.trim() === '') return 0;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil((text.length + 2) * size)}" height="${Math.ceil(size * 2)}">` +
    `<text x="0" y="${size * 1.5}" font-family="${FONT}" font-size="${size}" font-weight="${weight}" font-style="${style}" xml:space="preserve">${xmlEscape(text)}</text></svg>`;
  const box = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT } }).getBBox();
  if (!box) {
    warnNoFont();
    widthCache.set(key, null); // not laid out again: each try loads the system's fonts
    return null;
  }
  const w = Math.ceil(box.x + box.width);
  widthCache.set(key, w);
  return w;
}

/** What Vega asks a text measurer about: the text mark's item (font settings; its text unless given apart). */
export type TextItem = {
  /** The text (a string, or lines of a multi-line label). */
  text?: unknown;
  /** Font size in px (Vega's default 11). */
  fontSize?: number;
  /** Font weight. */
  fontWeight?: string | number;
  /** Font style. */
  fontStyle?: string;
  /** The width in px beyond which Vega truncates the text. */
  limit?: number;
};
/** Vega's text measurer (exported by vega-scenegraph through vega, missing from vega's type declarations). */
const metrics = (vega as unknown as { textMetrics: { estimateWidth(item: TextItem, text?: unknown): number; width(item: TextItem, text?: unknown): number } }).textMetrics;
const vegaGuess = metrics.estimateWidth;

/**
 * The width Vega uses for a text: measured by `measure` (resvg, by default) when it is a string, else
 * Vega's own guess, 0.8 em per character — computed here, not by calling Vega's `estimateWidth`, which
 * for a label with a length limit truncates it by calling the measurer again (without a font that was an
 * endless recursion). Texts that are not strings (lines of a multi-line label) go to Vega's guess.
 */
export function vegaTextWidth(item: TextItem, text: unknown, measure: (t: string, font: { size?: number; weight?: string | number; style?: string }) => number | null = measureTextWidth): number {
  const t = text ?? item.text;
  if (typeof t !== 'string') return vegaGuess(item, text);
  const size = item.fontSize ?? 11;
  return measure(t, { size, weight: item.fontWeight, style: item.fontStyle }) ?? Math.floor(0.8 * t.length * size);
}
metrics.width = (item, text) => vegaTextWidth(item, text);

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ config: { font: 'DejaVu Sans' }, ...spec } as unknown as TopLevelSpec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Rasterizes SVG to PNG (2× scale for legibility). */
export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
}

/** Writes `<base>.svg` and `<base>.png` for the spec and returns both paths. */
export async function writeChart(base: string, spec: ChartSpec): Promise<{
  /** `<base>.svg`. */
  svg: string;
  /** `<base>.png`. */
  png: string;
}> {
  mkdirSync(dirname(base), { recursive: true });
  const svg = await renderSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}

/** Writes `<base>.svg` and `<base>.png` of the exploration figure (exploration.ts). */
export async function writeExploration(base: string, panels: readonly ExplorePanel[], opts: ExplorationOptions = {}): Promise<{
  /** Path of the SVG. */
  svg: string;
  /** Path of the PNG. */
  png: string;
}> {
  return writeChart(base, explorationSpec(panels, opts));
}
