/**
 * Where the alarms notify, from the app's context: `-c alarmEmail=ops@example.com` creates a
 * topic with that email subscribed; `-c alarmTopicArn=arn:aws:sns:...` uses a topic you have
 * (on-call tooling, chat); both together subscribe the email to that topic. A malformed value
 * stops synth naming the context key.
 */
import { Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

export interface AlarmNotificationSettings {
  /** An email address to notify (confirm the subscription from the email SNS sends). */
  readonly alarmEmail?: string;
  /** An existing SNS topic, in the stack's region, to notify. */
  readonly alarmTopicArn?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** The topic the alarms notify, or undefined when neither setting is given. */
export function alarmTopicOf(scope: Construct, settings: AlarmNotificationSettings): sns.ITopic | undefined {
  const { alarmEmail, alarmTopicArn } = settings;
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) {
    throw new Error(`Context alarmEmail must be an email address, got ${JSON.stringify(alarmEmail)}`);
  }
  if (alarmTopicArn !== undefined && !TOPIC_ARN.test(alarmTopicArn)) {
    throw new Error(
      `Context alarmTopicArn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got ${JSON.stringify(alarmTopicArn)}`,
    );
  }
  if (alarmEmail === undefined && alarmTopicArn === undefined) return undefined;
  let topic: sns.ITopic;
  if (alarmTopicArn !== undefined) {
    topic = sns.Topic.fromTopicArn(scope, 'AlarmTopic', alarmTopicArn);
  } else {
    const created = new sns.Topic(scope, 'AlarmTopic', {
      displayName: 'custody alarms',
      enforceSSL: true,
    });
    Validations.of(created).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic under the AWS managed SNS key, and the ' +
        'notifications carry only alarm names, states and metric values: no audit data.',
    });
    topic = created;
  }
  if (alarmEmail !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
  return topic;
}
