/**
 * Two small chart kinds for docs/, written as plain SVG so the report needs no plotting
 * library: lines over a numeric x axis, and horizontal bars.
 */
export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(n % 1 === 0 ? 0 : 1));
const FONT = 'font-family="sans-serif" font-size="12"';

/** Round numbers for axis ticks covering 0..max. */
function ticks(max: number, count = 5): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step / 2; v += step) out.push(v);
  return out;
}

export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** A dashed horizontal reference line (a target). */
  hLine?: { y: number; label: string };
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 640;
  const H = o.height ?? 360;
  const m = { l: 64, r: 150, t: 40, b: 48 };
  const all = o.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p[0]));
  const yTicks = ticks(Math.max(...all.map((p) => p[1]), o.hLine?.y ?? 0) * 1.05);
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const xTicks = ticks(xMax);
  const xMaxT = xTicks[xTicks.length - 1] ?? 1;
  const x = (v: number) => m.l + (v / xMaxT) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / yMax) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-family="sans-serif" font-size="15">${esc(o.title)}</text>`,
  ];
  for (const t of yTicks) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end" ${FONT}>${fmt(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<text x="${x(t)}" y="${H - m.b + 18}" text-anchor="middle" ${FONT}>${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle" ${FONT}>${esc(o.xLabel)}</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${esc(o.yLabel)}</text>`,
  );
  if (o.hLine) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(o.hLine.y)}" y2="${y(o.hLine.y)}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${W - m.r + 6}" y="${y(o.hLine.y) + 4}" ${FONT} fill="#c00">${esc(o.hLine.label)}</text>`,
    );
  }
  o.series.forEach((s, i) => {
    const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p[0])},${y(p[1])}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length <= 20) {
      for (const p of s.points) {
        parts.push(`<circle cx="${x(p[0])}" cy="${y(p[1])}" r="3.5" fill="${s.color}"/>`);
      }
    }
    const ly = m.t + 10 + i * 20;
    parts.push(
      `<line x1="${W - m.r + 10}" x2="${W - m.r + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${W - m.r + 36}" y="${ly + 4}" ${FONT}>${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function barChart(o: {
  title: string;
  unit: string;
  rows: readonly { label: string; value: number }[];
  width?: number;
}): string {
  const W = o.width ?? 640;
  const rowH = 26;
  const m = { l: 190, r: 70, t: 40, b: 20 };
  const H = m.t + m.b + rowH * o.rows.length;
  const max = Math.max(...o.rows.map((r) => r.value)) || 1;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-family="sans-serif" font-size="15">${esc(o.title)}</text>`,
  ];
  o.rows.forEach((r, i) => {
    const top = m.t + i * rowH;
    const w = (r.value / max) * (W - m.l - m.r);
    parts.push(
      `<text x="${m.l - 8}" y="${top + 17}" text-anchor="end" ${FONT}>${esc(r.label)}</text>`,
      `<rect x="${m.l}" y="${top + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="#4a7bd0"/>`,
      `<text x="${m.l + w + 6}" y="${top + 17}" ${FONT}>${fmt(r.value)} ${esc(o.unit)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
