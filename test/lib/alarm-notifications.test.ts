import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { addCustodyStack } from '../../lib/custody-app.ts';
import { type CfnTemplate, createApp, resourcesOfType } from './synth.ts';

function synthWithContext(context: Record<string, string>): CfnTemplate {
  const app = createApp();
  for (const [key, value] of Object.entries(context)) app.node.setContext(key, value);
  return Template.fromStack(addCustodyStack(app)).toJSON() as CfnTemplate;
}

function alarms(json: CfnTemplate) {
  return resourcesOfType(json, 'AWS::CloudWatch::Alarm');
}

describe('Alarm notifications from the app context', () => {
  it('-c alarmEmail: a topic with the email subscribed, notified by every alarm (alarm and OK)', () => {
    const json = synthWithContext({ alarmEmail: 'oncall@example.com' });
    const topics = resourcesOfType(json, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(1);
    const [topicId, topic] = topics[0]!;
    expect(topic.Properties.DisplayName).toBe('custody alarms');
    const subscriptions = resourcesOfType(json, 'AWS::SNS::Subscription');
    expect(subscriptions.map(([, s]) => s.Properties)).toEqual([
      { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } },
    ]);
    expect(alarms(json).length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms(json)) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions, id).toEqual([{ Ref: topicId }]);
    }
  });

  it('-c alarmTopicArn: every alarm notifies that topic; no topic is created', () => {
    const arn = 'arn:aws:sns:eu-west-1:444455556666:oncall';
    const json = synthWithContext({ alarmTopicArn: arn });
    expect(resourcesOfType(json, 'AWS::SNS::Topic')).toEqual([]);
    for (const [id, alarm] of alarms(json)) expect(alarm.Properties.AlarmActions, id).toEqual([arn]);
  });

  it('both: the email is subscribed to the given topic', () => {
    const arn = 'arn:aws:sns:eu-west-1:444455556666:oncall';
    const json = synthWithContext({ alarmTopicArn: arn, alarmEmail: 'oncall@example.com' });
    expect(resourcesOfType(json, 'AWS::SNS::Subscription').map(([, s]) => s.Properties)).toEqual([
      { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: arn },
    ]);
  });

  it('neither: the alarms have no actions (they show on the dashboard)', () => {
    const json = synthWithContext({});
    for (const [id, alarm] of alarms(json)) expect(alarm.Properties.AlarmActions, id).toBeUndefined();
  });

  it('stops synth on a bad value, naming the context key', () => {
    expect(() => synthWithContext({ alarmEmail: 'oncall' })).toThrow(
      /Context alarmEmail must be an email address, got "oncall"/,
    );
    expect(() => synthWithContext({ alarmTopicArn: 'arn:aws:sqs:eu-west-1:444455556666:q' })).toThrow(
      /Context alarmTopicArn must be an SNS topic ARN/,
    );
  });
});
