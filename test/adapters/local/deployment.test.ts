import { describe, expect, it } from 'vitest';
import { localDeployment, profileOfRole } from '../../../lambda/adapters/local/deployment.ts';
import { deploymentSchema } from '../../../lambda/core/deployment.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import { ACCOUNT, policyDocument } from '../../broker/fixture.ts';

describe('localDeployment', () => {
  const policy = parsePolicy(policyDocument);
  const local = localDeployment(policy, 'eu-west-1');

  it('is a deployment the broker would accept on AWS, one entry per profile', () => {
    const { accountId, region, ...deployment } = local;
    expect({ accountId, region }).toEqual({ accountId: ACCOUNT, region: 'eu-west-1' });
    expect(deploymentSchema.parse(deployment)).toEqual(deployment);
    expect(Object.keys(deployment.profiles).sort()).toEqual(Object.keys(policy.profiles).sort());
  });

  it("names each profile's secrets by the policy's secret names", () => {
    expect(local.profiles.reports?.secrets).toEqual({ REPORT_API_TOKEN: 'custody/reports/api-token' });
  });

  it('finds the profile of an execution role, and none for another role', () => {
    expect(profileOfRole(local, `arn:aws:iam::${ACCOUNT}:role/custody-exec-reports`)).toBe('reports');
    expect(profileOfRole(local, `arn:aws:iam::${ACCOUNT}:role/someone-else`)).toBeUndefined();
  });
});
