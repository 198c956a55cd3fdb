import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE, Metric } from '../../lambda/core/metrics.ts';
import { CustodyAlarms, verificationPeriod } from '../../lib/alarms.ts';
import { alarmSeries, parseMetricsInsights } from './cloudwatch-template.ts';
import { type Emitted, emitted, wasEmitted, wasEmittedWithDimensionNames } from './emitted.ts';
import { type CfnResource, resourcesOfType, type Synthesized, synthCustody } from './synth.ts';

const SERVICE = { service: 'custody-broker' };

function alarmOn(json: Synthesized['json'], idPart: string): CfnResource {
  const found = resourcesOfType(json, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes(idPart));
  if (found.length !== 1) throw new Error(`expected one alarm ${idPart}, found ${found.length}`);
  return found[0]![1];
}

describe('CustodyAlarms', () => {
  let s: Synthesized;
  let real: Emitted;
  beforeAll(async () => {
    s = synthCustody();
    real = await emitted();
  });

  it.each([
    [
      'AuditVerificationFailed',
      Metric.AuditVerificationIntact,
      'Minimum',
      'LessThanThreshold',
      1,
      'breaching',
      900,
    ],
    [
      'AuditWriteFailures',
      Metric.AuditWriteFailures,
      'Sum',
      'GreaterThanOrEqualToThreshold',
      1,
      'notBreaching',
      300,
    ],
    [
      'HardcodedCredentialAttempt',
      Metric.HardcodedCredentialAttempts,
      'Sum',
      'GreaterThanOrEqualToThreshold',
      1,
      'notBreaching',
      300,
    ],
    ['DenialSpike', Metric.Denials, 'Sum', 'GreaterThanOrEqualToThreshold', 20, 'notBreaching', 300],
  ])(
    'alarms on %s: %s %s, %s %d, missing data %s, period %d s',
    (idPart, metric, stat, comparison, threshold, missing, period) => {
      const alarm = alarmOn(s.json, idPart).Properties;
      expect(alarm).toMatchObject({
        Namespace: METRIC_NAMESPACE,
        MetricName: metric,
        Dimensions: [{ Name: 'service', Value: 'custody-broker' }],
        Statistic: stat,
        ComparisonOperator: comparison,
        Threshold: threshold,
        EvaluationPeriods: 1,
        TreatMissingData: missing,
        Period: period,
      });
    },
  );

  it.each([
    ['SandboxLimitHits', Metric.SandboxLimitHits, 'Status', 10],
    ['DependencyFailures', Metric.DependencyFailures, 'Dependency', 3],
  ])(
    'alarms on %s summed over every %s with a Metrics Insights query',
    (idPart, metric, dimension, threshold) => {
      const alarm = alarmOn(s.json, idPart).Properties;
      expect(alarm).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: threshold,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      const { expressions } = alarmSeries(alarm);
      expect(expressions).toHaveLength(1);
      const query = parseMetricsInsights(expressions[0]!.expression);
      expect(query).toEqual({
        name: metric,
        namespace: METRIC_NAMESPACE,
        dimensionNames: [dimension, 'service'],
        where: "service = 'custody-broker'",
      });
      expect((alarm.Metrics as { Period: number }[])[0]?.Period).toBe(300);
    },
  );

  it('reads only metrics the broker really emits, with the exact dimensions it emits them with', () => {
    const alarms = resourcesOfType(s.json, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(6);
    for (const [id, alarm] of alarms) {
      const { metrics, expressions } = alarmSeries(alarm.Properties);
      for (const m of metrics) {
        if (m.name === Metric.AuditVerificationIntact) {
          expect(m.dimensions, id).toEqual(SERVICE); // the digester's; see custody-metrics.test.ts
          continue;
        }
        expect(wasEmitted(real.metrics, m.namespace, m.name, m.dimensions), id).toBe(true);
      }
      for (const e of expressions) {
        const q = parseMetricsInsights(e.expression);
        expect(wasEmittedWithDimensionNames(real.metrics, q.namespace, q.name, q.dimensionNames), id).toBe(
          true,
        );
      }
    }
  });

  it('tells the on-call person what happened and what to do, in every description', () => {
    for (const [id, alarm] of resourcesOfType(s.json, 'AWS::CloudWatch::Alarm')) {
      const text = String(alarm.Properties.AlarmDescription);
      expect(text, id).toMatch(/ Do: /);
      expect(text, id).toContain('docs/operations.md');
      expect(text.length, id).toBeLessThanOrEqual(1024); // CloudWatch's limit
    }
    expect(String(alarmOn(s.json, 'AuditVerificationFailed').Properties.AlarmDescription)).toContain(
      'custody audit verify',
    );
  });

  it('has no actions unless a topic is given', () => {
    const alarms = resourcesOfType(s.json, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(6);
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, id).toBeUndefined();
    }
  });

  it('notifies the topic on alarm and on recovery when one is given', () => {
    const stack = new Stack(new App(), 'Alarms');
    const topic = new sns.Topic(stack, 'OnCall');
    new CustodyAlarms(stack, 'Alarms', { digestInterval: Duration.minutes(5), alarmTopic: topic });
    const template = Template.fromStack(stack);
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms)).toHaveLength(6);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('takes the alarm topic and the denial threshold from the custody construct', () => {
    const arn = 'arn:aws:sns:eu-west-1:111122223333:custody-on-call';
    const topic = sns.Topic.fromTopicArn(new Stack(new App(), 'Topics'), 'OnCall', arn);
    const withTopic = synthCustody({ props: { alarmTopic: topic, denialSpikeThreshold: 50 } });
    const denial = alarmOn(withTopic.json, 'DenialSpike').Properties;
    expect(denial.Threshold).toBe(50);
    for (const [id, alarm] of resourcesOfType(withTopic.json, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions, id).toEqual([arn]);
    }
  });

  it('waits three digester runs (at least 15 minutes) before a missing verification alarms', () => {
    expect(verificationPeriod(Duration.minutes(5)).toMinutes()).toBe(15);
    expect(verificationPeriod(Duration.minutes(1)).toMinutes()).toBe(15);
    expect(verificationPeriod(Duration.minutes(10)).toMinutes()).toBe(30);
    expect(verificationPeriod(Duration.seconds(450)).toSeconds()).toBe(1380);
    const slow = synthCustody({ props: { auditDigestInterval: Duration.minutes(20) } });
    expect(alarmOn(slow.json, 'AuditVerificationFailed').Properties.Period).toBe(3600);
  });

  it('refuses a threshold below 1 or not whole, naming the prop', () => {
    const stack = new Stack(new App(), 'Bad');
    expect(
      () => new CustodyAlarms(stack, 'A', { digestInterval: Duration.minutes(5), denialSpikeThreshold: 0 }),
    ).toThrow(/props\.denialSpikeThreshold must be a whole number of at least 1, got 0/);
    expect(
      () =>
        new CustodyAlarms(stack, 'B', { digestInterval: Duration.minutes(5), sandboxLimitHitThreshold: 2.5 }),
    ).toThrow(/props\.sandboxLimitHitThreshold/);
  });
});
