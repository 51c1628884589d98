import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a time chart. */
export interface Series {
  label: string;
  /** One value per timestamp (null: no data). */
  values: (number | null)[];
  color: string;
  /** Unit shown after values in the legend (e.g. "ms", "%"). */
  unit?: string;
}

interface Props {
  /** Accessible name of the chart; the values are also given as a table for screen readers. */
  title: string;
  /** Unix seconds of each point. */
  times: number[];
  series: Series[];
  /** The x range shown, unix seconds (default: the data's own extent). */
  range?: [number, number];
  height?: number;
}

/**
 * A uPlot line chart (about 50 KB, canvas, no dependencies) sized to its container. The canvas is
 * hidden from assistive technology; a visually hidden table carries the same numbers.
 */
export function TimeChart({ title, times, series, range, height = 200 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: range ? { time: true, range: () => range } : { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [{ stroke: '#5d6470', grid: { stroke: '#eef0f4' } }, { stroke: '#5d6470', grid: { stroke: '#eef0f4' }, size: 56 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: `${s.color}14`, points: { show: times.length < 3 }, value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${format(v)}${s.unit ? ` ${s.unit}` : ''}`) }))],
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, range?.[0], range?.[1], height]);
  return (
    <figure class="chart" aria-label={title}>
      <div ref={box} aria-hidden="true" />
      <table class="visually-hidden">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {times.map((t, i) => (
            <tr key={t}>
              <td>{new Date(t * 1000).toISOString()}</td>
              {series.map((s) => (
                <td key={s.label}>{s.values[i] ?? ''}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

const format = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en') : v.toFixed(v < 10 ? 2 : 1));
