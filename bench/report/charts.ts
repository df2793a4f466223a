import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineBank, WireLatency, WireMemory } from './results.js';
import { barChart, lineChart } from './svg.js';

/** The report's charts, written next to it in docs/; returns the file names written. */
export function writeCharts(
  docs: string,
  r: { bank?: EngineBank; memory?: WireMemory; latency?: WireLatency },
): string[] {
  const written: string[] = [];
  const write = (name: string, svg: string) => {
    writeFileSync(join(docs, name), svg);
    written.push(name);
  };
  if (r.latency) {
    const rows = r.latency.rows;
    const line = (name: string, color: string, k: 'p50' | 'p95' | 'p99') => ({
      name,
      color,
      points: rows.map((x) => [x.rate, x[k]] as const),
    });
    write(
      'bench-latency.svg',
      lineChart({
        title: `End-to-end latency vs offered load (${r.latency.backend})`,
        xLabel: 'offered load (events/s)',
        yLabel: 'insert → read model written (ms)',
        series: [
          line('p50', '#4a7bd0', 'p50'),
          line('p95', '#e09b2d', 'p95'),
          line('p99', '#c0392b', 'p99'),
        ],
        hLine: { y: 100, label: 'p99 target' },
      }),
    );
  }
  if (r.memory) {
    const s = r.memory.samples;
    write(
      'bench-memory.svg',
      lineChart({
        title: `Memory while draining ${r.memory.events.toLocaleString('en')} events (1 ms handler)`,
        xLabel: 'seconds since the daemon started',
        yLabel: 'MB',
        series: [
          { name: 'RSS', color: '#c0392b', points: s.map((x) => [x.s, x.rssMb] as const) },
          {
            name: 'JS heap used',
            color: '#4a7bd0',
            points: s.map((x) => [x.s, x.heapMb] as const),
          },
        ],
        hLine: { y: 250, label: 'limit 250 MB' },
      }),
    );
  }
  if (r.bank) {
    write(
      'bench-modules.svg',
      barChart({
        title: 'Bank modules in process: CPU µs per stream event, each module alone',
        unit: 'µs',
        rows: r.bank.perModule.map((m) => ({ label: m.module, value: m.cpuUsPerStreamEvent })),
      }),
    );
  }
  return written;
}
