import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart: a label and one value per x (null for a gap). */
export interface Series {
  label: string;
  values: Array<number | null>;
}

interface Props {
  /** Accessible summary of what the chart shows (the numbers are also in a table beside it). */
  summary: string;
  /** Times of the points, in Unix seconds. */
  x: number[];
  series: Series[];
  height?: number;
  /** Bars (counts per bucket) instead of lines. */
  bars?: boolean;
}

/** uPlot's columns; for bars an idle bucket is null, so it draws nothing instead of a flat stroke. */
function dataOf(x: number[], series: Series[], bars: boolean): uPlot.AlignedData {
  return [x, ...series.map((s) => (bars ? s.values.map((v) => (v === 0 ? null : v)) : s.values))] as uPlot.AlignedData;
}

/** Bars are centred on their bucket: the x range is padded by half a bucket so the first and last bars are whole. */
function padHalfBucket(points: number): uPlot.Range.Function {
  return (_u, min, max) => {
    const half = points > 1 ? (max - min) / (points - 1) / 2 : 1800;
    return [min - half, max + half];
  };
}

const PALETTE = ['#1f4fd8', '#e0702b', '#0e9384', '#b42318', '#7a5af8', '#ca8504', '#2e90fa', '#667085'];

/**
 * A time-series chart drawn by uPlot (about 50 KB, canvas: thousands of points stay smooth). Its
 * styles are set through the CSSOM, which the console's CSP (`style-src 'self'`) allows.
 */
export function Chart({ summary, x, series, height = 240, bars = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('\u0000') + (bars ? '|bars' : '');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const paths = bars ? uPlot.paths.bars?.({ size: [0.7, 40], gap: 1 }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      scales: {
        x: bars ? { time: true, range: padHalfBucket(x.length) } : { time: true },
        // Counts start at 0; an idle range still gets an axis (0..1) rather than none.
        y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Number.isFinite(max) && max > 0 ? Math.ceil(max * 1.15) : 1] },
      },
      axes: [
        { stroke: '#5d6470', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5ea' } },
        { stroke: '#5d6470', grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e5ea' }, size: 56 },
      ],
      series: [
        { label: 'Time' },
        ...series.map((s, i) => {
          const color = PALETTE[i % PALETTE.length] as string;
          return { label: s.label, stroke: color, width: 2, ...(bars || series.length === 1 ? { fill: `${color}33` } : {}), points: { show: false }, ...(paths ? { paths } : {}) };
        }),
      ],
      legend: { show: series.length > 1, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, dataOf(x, series, bars), el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 300), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt when the series change; new data for the same series goes through setData below.
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(dataOf(x, series, bars));
  }, [x, series]);

  return <div class="chart" ref={box} role="img" aria-label={summary} />;
}
