/**
 * Reading the CloudWatch parts of the synthesized template the way CloudWatch would: the dashboard
 * body as JSON, the metrics each widget and alarm names, the fields a Logs Insights query reads.
 */
import type { CfnTemplate } from './synth.ts';
import { onlyResource } from './synth.ts';

/**
 * A CloudFormation value as text: `Fn::Join` joined, `Ref` / `Fn::GetAtt` kept as `{{Ref:id}}` /
 * `{{GetAtt:id.attr}}` markers, so JSON built from tokens (dashboard body, rule body) parses.
 */
export function renderIntrinsics(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    const join = v['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(renderIntrinsics).join(join[0]);
    if (typeof v.Ref === 'string') return `{{Ref:${v.Ref}}}`;
    const getAtt = v['Fn::GetAtt'] as string[] | undefined;
    if (getAtt) return `{{GetAtt:${getAtt.join('.')}}}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

export interface Widget {
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown> & { readonly title?: string };
}

export function dashboardWidgets(json: CfnTemplate): Widget[] {
  const [, dashboard] = onlyResource(json, 'AWS::CloudWatch::Dashboard');
  return (JSON.parse(renderIntrinsics(dashboard.Properties.DashboardBody)) as { widgets: Widget[] }).widgets;
}

export function widgetTitled(widgets: readonly Widget[], title: string | RegExp): Widget {
  const found = widgets.filter((w) =>
    typeof title === 'string' ? w.properties.title === title : title.test(w.properties.title ?? ''),
  );
  if (found.length !== 1) throw new Error(`expected one widget titled ${title}, found ${found.length}`);
  return found[0]!;
}

/** A metric a widget or alarm names directly. */
export interface NamedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly stat?: string;
  readonly label?: string;
}

/** A metric-math, SEARCH or Metrics Insights expression a widget or alarm evaluates. */
export interface MetricExpression {
  readonly expression: string;
  readonly label?: string;
}

/** The series of a metric widget: `[ns, name, k1, v1, ..., {options}]` rows and `{expression}` rows. */
export function widgetSeries(widget: Widget): { metrics: NamedMetric[]; expressions: MetricExpression[] } {
  const metrics: NamedMetric[] = [];
  const expressions: MetricExpression[] = [];
  for (const row of (widget.properties.metrics as unknown[][] | undefined) ?? []) {
    const last = row.at(-1);
    const options = (last && typeof last === 'object' ? last : {}) as Record<string, string>;
    const parts = (options === last ? row.slice(0, -1) : row) as string[];
    if (parts.length === 0) {
      expressions.push({ expression: options.expression ?? '', label: options.label });
      continue;
    }
    const [namespace, name, ...pairs] = parts;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
    metrics.push({
      namespace: namespace!,
      name: name!,
      dimensions,
      stat: options.stat,
      label: options.label,
    });
  }
  return { metrics, expressions };
}

/** The metrics and expressions an `AWS::CloudWatch::Alarm` evaluates. */
export function alarmSeries(properties: Record<string, unknown>): {
  metrics: NamedMetric[];
  expressions: MetricExpression[];
} {
  if (typeof properties.MetricName === 'string') {
    const dimensions = Object.fromEntries(
      ((properties.Dimensions as { Name: string; Value: string }[] | undefined) ?? []).map((d) => [
        d.Name,
        d.Value,
      ]),
    );
    return {
      metrics: [
        {
          namespace: properties.Namespace as string,
          name: properties.MetricName,
          dimensions,
          stat: (properties.Statistic ?? properties.ExtendedStatistic) as string,
        },
      ],
      expressions: [],
    };
  }
  const metrics: NamedMetric[] = [];
  const expressions: MetricExpression[] = [];
  for (const q of (properties.Metrics as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof q.Expression === 'string')
      expressions.push({ expression: q.Expression, label: q.Label as string });
    const stat = q.MetricStat as
      | {
          Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] };
          Stat: string;
        }
      | undefined;
    if (stat) {
      metrics.push({
        namespace: stat.Metric.Namespace,
        name: stat.Metric.MetricName,
        dimensions: Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
        stat: stat.Stat,
      });
    }
  }
  return { metrics, expressions };
}

/** `{namespace, dimensions, name}` of a SEARCH('{NS,Dim,...} MetricName="X" ...') expression. */
export function parseSearch(expression: string): {
  namespace: string;
  dimensionNames: string[];
  name: string;
} {
  const m = /^SEARCH\('\{([^}]+)\}[^']*MetricName="([^"]+)"[^']*',\s*'[^']+',\s*\d+\)$/.exec(expression);
  if (!m) throw new Error(`not a SEARCH expression custody writes: ${expression}`);
  const [namespace, ...dimensionNames] = m[1]!.split(',').map((s) => s.trim());
  return { namespace: namespace!, dimensionNames, name: m[2]! };
}

/** `{namespace, dimensionNames, name}` of `SELECT SUM(X) FROM SCHEMA("NS", Dim, ...) WHERE ...`. */
export function parseMetricsInsights(expression: string): {
  namespace: string;
  dimensionNames: string[];
  name: string;
  where: string;
} {
  const m = /^SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)",\s*([^)]*)\)\s*(?:WHERE (.*))?$/.exec(expression);
  if (!m) throw new Error(`not a Metrics Insights query custody writes: ${expression}`);
  return {
    name: m[1]!,
    namespace: m[2]!,
    dimensionNames: m[3]!.split(',').map((s) => s.trim()),
    where: m[4] ?? '',
  };
}

const QUERY_KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'by', 'as', 'asc', 'desc']);
const QUERY_COMMANDS = new Set(['fields', 'filter', 'stats', 'sort', 'limit', 'display', 'parse', 'dedup']);

/**
 * The log fields a Logs Insights query reads: every identifier outside comments and string
 * literals that is not a command, keyword, function, number, `@` system field or an alias the
 * query defined with `as`.
 */
export function logsInsightsFields(query: string): string[] {
  const code = query
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ');
  const aliases = new Set([...code.matchAll(/\bas\s+([A-Za-z_]\w*)/g)].map((m) => m[1]!));
  const fields = new Set<string>();
  for (const command of code.split('|')) {
    const words = command.trim();
    const name = /^\w+/.exec(words)?.[0];
    if (!name || !QUERY_COMMANDS.has(name)) throw new Error(`unknown Logs Insights command in: ${command}`);
    if (name === 'limit') continue;
    const rest = words.slice(name.length);
    for (const m of rest.matchAll(/@?[A-Za-z_][\w]*(?:\.[\w]+)*(\s*\()?/g)) {
      const token = m[0].replace(/\s*\($/, '');
      if (m[1] || token.startsWith('@') || QUERY_KEYWORDS.has(token) || aliases.has(token)) continue;
      fields.add(token);
    }
  }
  return [...fields];
}

function valueAt(object: unknown, path: string): unknown {
  let at: unknown = object;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * Whether a log line passes every `filter` of a query, for the filters custody writes:
 * `path = "value"` and `ispresent(path)`, joined by `and` and `or` (`and` binds tighter). Anything else is refused, so a query
 * the tests cannot evaluate does not pass unnoticed.
 */
export function passesFilters(query: string, line: string): boolean {
  const event = JSON.parse(line) as unknown;
  const filters = query
    .split('\n')
    .map((l) => l.replace(/^\|\s*/, '').trim())
    .filter((l) => l.startsWith('filter '))
    .map((l) => l.slice('filter '.length));
  const holds = (condition: string): boolean => {
    const equals = /^([\w.]+)\s*=\s*"([^"]*)"$/.exec(condition);
    if (equals) return valueAt(event, equals[1]!) === equals[2];
    const present = /^ispresent\(([\w.]+)\)$/.exec(condition);
    if (present) return valueAt(event, present[1]!) !== undefined;
    throw new Error(`cannot evaluate filter condition: ${condition}`);
  };
  return filters.every((filter) =>
    filter.split(/\s+or\s+/).some((alternative) => alternative.split(/\s+and\s+/).every(holds)),
  );
}
