// Rendering on the server, without a browser: vega-lite -> vega -> SVG (vega's headless view),
// then SVG -> PNG with resvg. resvg draws text with the fonts it finds on the machine, so the
// fonts the specs name (DejaVu Sans first) must be installed: on Debian that is fonts-dejavu-core,
// which chromium and most desktops pull in.

import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { logger as vegaLogger, parse as vegaParse, View, Warn } from 'vega';
import type { Spec as VegaSpec } from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { VlSpec } from './charts/common.js';
import { installTextMetrics } from './text-width.js';

export interface Compiled {
  readonly vega: VegaSpec;
  // vega-lite's and vega's warnings (a misspelt field, a scale that cannot apply): the tests treat
  // any as a failure, the CLI prints them.
  readonly warnings: string[];
}

export function compileSpec(spec: VlSpec): Compiled {
  const warnings: string[] = [];
  const handler = (_method: string, _level: string, args: unknown[]): void => {
    warnings.push(args.map(String).join(' '));
  };
  const out = compile(spec as unknown as TopLevelSpec, { logger: vegaLogger(Warn, 'warn', handler) });
  return { vega: out.spec, warnings };
}

export async function renderSvg(spec: VlSpec): Promise<{ svg: string; warnings: string[] }> {
  installTextMetrics();
  const compiled = compileSpec(spec);
  const warnings = [...compiled.warnings];
  const handler = (_method: string, _level: string, args: unknown[]): void => {
    warnings.push(args.map(String).join(' '));
  };
  const view = new View(vegaParse(compiled.vega), { renderer: 'none', logger: vegaLogger(Warn, 'warn', handler) });
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

export const fontDirs: readonly string[] = ['/usr/share/fonts', '/usr/local/share/fonts'];
const dejaVu = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

// fontWarning says, once, when the font the charts are drawn in is missing: the PNGs would then
// come out in whatever resvg falls back to, or with no text at all on a machine without fonts.
export function fontWarning(): string | null {
  if (existsSync(dejaVu)) return null;
  return `DejaVu Sans not found (${dejaVu}); PNG text may be missing: apt-get install fonts-dejavu-core`;
}

// pngScale 2 gives a crisp image on high-density screens and in printed papers.
export function svgToPng(svg: string, pngScale = 2): Buffer {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: pngScale },
    font: {
      loadSystemFonts: true,
      fontDirs: fontDirs.filter((d) => existsSync(d)),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}
