"use client";

import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { CartAnalytics } from "@/lib/analytics";

/** The report's charts (recharts: SVG, React 19). Each is a figure named by its caption, with its
 * numbers in a table under it: the chart itself is hidden from assistive technology, which reads
 * the table. Colours are dark enough for text on white (WCAG AA). */

type Series = CartAnalytics["series"];
type Products = CartAnalytics["mostAbandoned"];
type Refusals = CartAnalytics["totals"]["refusals"];

const FLOWS = [
  { key: "created", label: "Created", colour: "#4338ca" },
  { key: "abandoned", label: "Abandoned", colour: "#b45309" },
  { key: "recovered", label: "Recovered", colour: "#047857" },
  { key: "converted", label: "Converted", colour: "#0369a1" },
] as const;

const number = new Intl.NumberFormat("en-US");

function ChartFigure({ id, title, children, table }: { id: string; title: string; children: React.ReactNode; table: React.ReactNode }) {
  return (
    <figure data-testid="analytics-chart" aria-labelledby={id} className="min-w-0 rounded-lg border border-slate-200 p-3">
      <figcaption id={id} className="mb-2 text-lg font-semibold">
        {title}
      </figcaption>
      <div aria-hidden="true" className="h-64 w-full min-w-0">
        {children}
      </div>
      <details className="mt-2">
        <summary className="cursor-pointer text-sm font-medium text-indigo-700">The numbers</summary>
        <div className="mt-2 max-h-72 overflow-auto" tabIndex={0} role="region" aria-label={`${title}: the numbers`}>
          {table}
        </div>
      </details>
    </figure>
  );
}

const cell = "py-1 pr-3 tabular-nums";

export function FlowChart({ series }: { series: Series }) {
  const data = series.map((bucket) => ({ ...bucket, label: bucket.start === bucket.end ? bucket.start : `${bucket.start} – ${bucket.end}` }));
  return (
    <ChartFigure
      id="flow-chart"
      title="Carts over time"
      table={
        <table className="w-full text-left text-sm">
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 pr-3">Period</th>
              {FLOWS.map((flow) => (
                <th key={flow.key} scope="col" className="py-1 pr-3">{flow.label}</th>
              ))}
              <th scope="col" className="py-1">Active</th>
            </tr>
          </thead>
          <tbody>
            {data.map((bucket) => (
              <tr key={bucket.start} data-testid="analytics-bucket" data-start={bucket.start} className="border-b border-slate-100">
                <th scope="row" className="py-1 pr-3 font-normal whitespace-nowrap">{bucket.label}</th>
                {FLOWS.map((flow) => (
                  <td key={flow.key} className={cell}>{number.format(bucket[flow.key])}</td>
                ))}
                <td className={cell}>{bucket.active === null || bucket.active === undefined ? "—" : number.format(bucket.active)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} accessibilityLayer={false} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid stroke="#e2e8f0" />
          <XAxis dataKey="start" tick={{ fontSize: 11, fill: "#334155" }} minTickGap={24} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11, fill: "#334155" }} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
          {FLOWS.map((flow) => (
            <Line key={flow.key} type="monotone" dataKey={flow.key} name={flow.label} stroke={flow.colour} dot={data.length <= 31} strokeWidth={2} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}

export function RefusalChart({ refusals }: { refusals: Refusals }) {
  const data = [
    { reason: "Stock", count: refusals.stock },
    { reason: "Limits", count: refusals.limits },
    { reason: "Rules", count: refusals.rules },
  ];
  return (
    <ChartFigure
      id="refusal-chart"
      title="Changes refused, by reason"
      table={
        <table className="text-left text-sm">
          <tbody>
            {data.map((row) => (
              <tr key={row.reason} className="border-b border-slate-100">
                <th scope="row" className="py-1 pr-6 font-normal">{row.reason}</th>
                <td className={cell} data-testid="analytics-refusals" data-reason={row.reason.toLowerCase()}>{number.format(row.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} accessibilityLayer={false} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid stroke="#e2e8f0" vertical={false} />
          <XAxis dataKey="reason" tick={{ fontSize: 12, fill: "#334155" }} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11, fill: "#334155" }} />
          <Tooltip />
          <Bar dataKey="count" name="Refused" fill="#b91c1c" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}

function shortName(name: string): string {
  return name.length > 16 ? `${name.slice(0, 15)}…` : name;
}

export function ProductChart({ title, unit, products }: { title: string; unit: string; products: Products }) {
  const id = title.toLowerCase().replace(/[^a-z]+/g, "-");
  const data = products.map((product) => ({ ...product, label: product.name ?? "(deleted product)" }));
  return (
    <ChartFigure
      id={id}
      title={title}
      table={
        data.length === 0 ? (
          <p className="text-sm text-slate-700">None in this range.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="border-b border-slate-300">
                <th scope="col" className="py-1 pr-3">Product</th>
                <th scope="col" className="py-1 pr-3">{unit.charAt(0).toUpperCase() + unit.slice(1)}</th>
                <th scope="col" className="py-1">Units</th>
              </tr>
            </thead>
            <tbody>
              {data.map((product) => (
                <tr key={product.productId} data-testid="analytics-product" data-product-id={product.productId} className="border-b border-slate-100">
                  <th scope="row" className="py-1 pr-3 font-normal">{product.label}</th>
                  <td className={cell}>{number.format(product.count)}</td>
                  <td className={cell}>{number.format(product.units)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" accessibilityLayer={false} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e2e8f0" horizontal={false} />
          <XAxis type="number" allowDecimals={false} tick={{ fontSize: 11, fill: "#334155" }} />
          <YAxis type="category" dataKey="label" width={110} tickFormatter={shortName} tick={{ fontSize: 11, fill: "#334155" }} />
          <Tooltip />
          <Bar dataKey="count" name={unit} fill="#4338ca" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
