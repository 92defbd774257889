// Text measurement for server-side rendering. Headless vega has no canvas to measure text with, so
// it guesses 0.8 em per character: too wide for most fonts, which makes it drop axis labels that
// would fit ("labelOverlap") and leave gaps around titles. The charts are drawn in DejaVu Sans
// (what resvg finds on Debian), so measure with its real advance widths instead: the table is
// DejaVu Sans 2.37's hmtx advances for ASCII 32..126, in thousandths of an em (regular, bold).
// The same hook vl-convert uses (vega's textMetrics.width).

import * as vega from 'vega';

// prettier-ignore
const regular: readonly number[] = [318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,838,838,838,531,1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,685,611,685,390,337,390,838,500,500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,392,634,592,818,592,592,525,636,337,636,838];
// prettier-ignore
const bold: readonly number[] = [348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,838,838,838,580,1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,771,724,725,457,365,457,838,500,500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,478,712,652,924,645,652,582,712,365,712,838];

// Characters outside ASCII (µ, –, ×, ·) get a typical lowercase width.
const otherEm = 0.62;

export function dejaVuWidth(text: string, fontSizePx: number, isBold: boolean): number {
  const table = isBold ? bold : regular;
  let em = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    em += c >= 32 && c <= 126 ? table[c - 32]! / 1000 : otherEm;
  }
  return em * fontSizePx;
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}

let installed = false;

export function installTextMetrics(): void {
  if (installed) return;
  installed = true;
  // Not in vega's type declarations; present in its runtime exports (vega-scenegraph).
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item: TextItem, text: unknown): number => {
    const size = typeof item.fontSize === 'number' ? item.fontSize : 11;
    const w = item.fontWeight;
    const isBold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
    return dejaVuWidth(text === null || text === undefined ? '' : String(text), size, isBold);
  };
}
