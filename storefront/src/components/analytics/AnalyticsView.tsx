import { money } from "@/lib/format";
import { BUCKETS, type Bucket, type CartAnalytics } from "@/lib/analytics";
import { FlowChart, ProductChart, RefusalChart } from "./AnalyticsCharts";

const number = new Intl.NumberFormat("en-US");
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });

export function rateLabel(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : percent.format(rate);
}

function averageLabel(average: number | null | undefined, currency: string): string {
  return average === null || average === undefined ? "—" : money(average, currency);
}

function countLabel(count: number | null | undefined): string {
  return count === null || count === undefined ? "—" : number.format(count);
}

/** The range the report covers; a GET form, so the range is in the page's address (and the back button). */
export function RangeForm({ from, to, bucket }: { from: string; to: string; bucket: Bucket }) {
  return (
    <form method="get" className="flex flex-wrap items-end gap-3" aria-label="Report range">
      <div>
        <label htmlFor="analytics-from" className="mb-1 block text-sm font-medium">
          From
        </label>
        <input id="analytics-from" name="from" type="date" defaultValue={from} className="rounded-md border border-slate-400 px-2 py-1.5" />
      </div>
      <div>
        <label htmlFor="analytics-to" className="mb-1 block text-sm font-medium">
          To
        </label>
        <input id="analytics-to" name="to" type="date" defaultValue={to} className="rounded-md border border-slate-400 px-2 py-1.5" />
      </div>
      <div>
        <label htmlFor="analytics-bucket" className="mb-1 block text-sm font-medium">
          By
        </label>
        <select id="analytics-bucket" name="bucket" defaultValue={bucket} className="rounded-md border border-slate-400 px-2 py-1.5">
          {BUCKETS.map((each) => (
            <option key={each} value={each}>
              {each}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" data-testid="analytics-apply" className="rounded-md bg-indigo-700 px-4 py-2 font-semibold text-white hover:bg-indigo-800">
        Show
      </button>
    </form>
  );
}

function Figure({ name, label, value, hint }: { name: string; label: string; value: string; hint?: string }) {
  return (
    <div className="rounded-lg border border-slate-200 p-3">
      <dt className="text-sm text-slate-700">{label}</dt>
      <dd data-testid="analytics-figure" data-figure={name} className="text-2xl font-bold tabular-nums">
        {value}
      </dd>
      {hint ? <dd className="text-xs text-slate-700">{hint}</dd> : null}
    </div>
  );
}

/** The report: the range's figures as text, then each chart with its numbers in a table beside it. */
export function AnalyticsView({ report }: { report: CartAnalytics }) {
  const { totals } = report;
  const asOf = report.asOf ? new Date(report.asOf) : null;
  return (
    <div data-testid="analytics-report" data-from={report.from} data-to={report.to} className="space-y-8">
      <div>
        <h1 className="mb-1 text-2xl font-bold">Cart analytics</h1>
        <p className="text-sm text-slate-700">
          {report.from} to {report.to} (UTC days), by {report.bucket}.{" "}
          {asOf ? (
            <>
              Figures as of <time dateTime={report.asOf ?? undefined}>{asOf.toISOString().slice(0, 16).replace("T", " ")} UTC</time>
              ; the rollup runs hourly.
            </>
          ) : (
            "The rollup has not run yet."
          )}
        </p>
      </div>
      <RangeForm from={report.from} to={report.to} bucket={report.bucket} />

      <section aria-labelledby="totals-heading">
        <h2 id="totals-heading" className="mb-3 text-lg font-semibold">
          Carts
        </h2>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">
          <Figure name="created" label="Created" value={countLabel(totals.created)} />
          <Figure name="active" label="Active" value={countLabel(totals.active)} hint="open at the end" />
          <Figure name="abandoned" label="Abandoned" value={countLabel(totals.abandoned)} />
          <Figure name="recovered" label="Recovered" value={countLabel(totals.recovered)} />
          <Figure name="converted" label="Converted" value={countLabel(totals.converted)} />
          <Figure name="abandonmentRate" label="Abandonment rate" value={rateLabel(totals.abandonmentRate)} />
          <Figure name="recoveryRate" label="Recovery rate" value={rateLabel(totals.recoveryRate)} />
        </dl>
      </section>

      <section aria-labelledby="values-heading">
        <h2 id="values-heading" className="mb-3 text-lg font-semibold">
          Average cart value
        </h2>
        {report.averageCartValue.length === 0 ? (
          <p className="text-slate-700">No converted or abandoned carts in this range.</p>
        ) : (
          <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
            {report.averageCartValue.map((value) => (
              <li key={value.currency} data-testid="analytics-value" data-currency={value.currency} className="rounded-lg border border-slate-200 p-3">
                <p className="mb-1 font-semibold">{value.currency}</p>
                <dl className="grid grid-cols-[auto_1fr] gap-x-3 text-sm">
                  <dt className="text-slate-700">Converted</dt>
                  <dd className="tabular-nums">
                    {averageLabel(value.convertedAverage, value.currency)} over {countLabel(value.convertedCarts)} carts
                  </dd>
                  <dt className="text-slate-700">Abandoned</dt>
                  <dd className="tabular-nums">
                    {averageLabel(value.abandonedAverage, value.currency)} over {countLabel(value.abandonedCarts)} carts
                  </dd>
                </dl>
              </li>
            ))}
          </ul>
        )}
      </section>

      <FlowChart series={report.series} />
      <RefusalChart refusals={totals.refusals} />
      <div className="grid gap-8 lg:grid-cols-2">
        <ProductChart title="Most abandoned products" unit="abandoned carts" products={report.mostAbandoned} />
        <ProductChart title="Most removed products" unit="lines removed" products={report.mostRemoved} />
      </div>
    </div>
  );
}
