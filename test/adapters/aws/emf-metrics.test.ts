import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics } from '../../../lambda/adapters/aws/emf-metrics.ts';
import { Metric } from '../../../lambda/core/metrics.ts';

interface EmfDocument {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

function captureEmf(): { documents: () => EmfDocument[]; restore: () => void } {
  const writes: string[] = [];
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    }),
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      writes.push(String(line));
    }),
  ];
  return {
    documents: () =>
      writes
        .flatMap((w) => w.split('\n'))
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line) as EmfDocument),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

describe('EmfMetrics', () => {
  let capture: ReturnType<typeof captureEmf> | undefined;
  afterEach(() => capture?.restore());

  it('emits dimensioned metrics as their own EMF documents in the Custody namespace', () => {
    capture = captureEmf();
    const metrics = new EmfMetrics();
    metrics.count(Metric.Denials, 1, { Reason: 'NO_GRANT' });
    metrics.count(Metric.Executions, 1);
    metrics.milliseconds(Metric.PhaseLatency, 12.5, { Phase: 'assume' });
    metrics.flush();
    const docs = capture.documents();
    const denial = docs.find((d) => d.Denials !== undefined);
    expect(denial?.Reason).toBe('NO_GRANT');
    expect(denial?._aws.CloudWatchMetrics[0]?.Namespace).toBe('Custody');
    expect(denial?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('Reason');
    const latency = docs.find((d) => d.PhaseLatency !== undefined);
    expect(latency?.Phase).toBe('assume');
    expect(latency?._aws.CloudWatchMetrics[0]?.Metrics[0]).toMatchObject({
      Name: 'PhaseLatency',
      Unit: 'Milliseconds',
    });
    const executions = docs.find((d) => d.Executions !== undefined);
    expect(executions?.Reason).toBeUndefined();
    expect(executions?.Phase).toBeUndefined();
  });
});
