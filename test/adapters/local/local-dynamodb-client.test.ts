import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamoDbClient } from '../../../lambda/adapters/local/local-dynamodb-client.ts';
import { type RunningDynalite, startDynalite } from '../../support/dynalite.ts';

describe('localDynamoDbClient', () => {
  let db: RunningDynalite;
  beforeAll(async () => {
    db = await startDynalite({ tableName: 'local-client-test' });
  });
  afterAll(async () => {
    await db.stop();
  });

  it('reaches dynalite with placeholder credentials, in us-east-1 unless told otherwise', async () => {
    const client = localDynamoDbClient({ endpoint: db.endpoint });
    try {
      expect(await client.config.region()).toBe('us-east-1');
      expect(await client.config.credentials()).toMatchObject({
        accessKeyId: 'local',
        secretAccessKey: 'local',
      });
      const out = await client.send(new ListTablesCommand({}));
      expect(out.TableNames).toContain('local-client-test');
    } finally {
      client.destroy();
    }
  });

  it('takes the region and the attempts it is given', async () => {
    const client = localDynamoDbClient({ endpoint: db.endpoint, region: 'eu-west-1', maxAttempts: 2 });
    try {
      expect(await client.config.region()).toBe('eu-west-1');
      expect(await client.config.maxAttempts()).toBe(2);
    } finally {
      client.destroy();
    }
  });
});
