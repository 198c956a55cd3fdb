import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { CustodyStack } from '../../lib/custody-stack.ts';
import { createApp, examplePolicy } from './synth.ts';

function nagged(): { app: ReturnType<typeof createApp>; stack: CustodyStack } {
  const app = createApp();
  const stack = new CustodyStack(app, 'Custody', { policy: examplePolicy() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

/** Every `{ ruleId: reason }` acknowledged anywhere under `root`. */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the AwsSolutions and Serverless packs', () => {
    const { app } = nagged();
    expect(() => app.synth()).not.toThrow();
  });

  it('justifies every acknowledgement in words', () => {
    const { stack } = nagged();
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.split(' ').length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(8);
    }
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const { app, stack } = nagged();
    // A wildcard grant on the broker's role: exactly what the IAM5 rule exists to catch.
    stack.custody.brokerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::some-bucket/*'] }),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::some-bucket\/\*\]/);
  });
});
