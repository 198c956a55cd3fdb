import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudWatchAuditLog } from '../../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { digestLine, verificationLine } from '../../../lambda/audit/audit-log-line.ts';
import { AuditReadError, AuditWriteError } from '../../../lambda/audit/errors.ts';
import type { DigestBody, SignedDigest } from '../../../lambda/audit/item.ts';
import { canonicalJson, sha256Hex } from '../../../lambda/core/canonical-json.ts';
import { auditRecord, ManualClock } from '../../audit/records.ts';

const logs = mockClient(CloudWatchLogsClient);
afterEach(() => logs.reset());

const GROUP = '/custody/audit';
const clock = new ManualClock(new Date('2026-03-10T10:00:00.000Z'));

function auditLog(streamName?: string): CloudWatchAuditLog {
  return new CloudWatchAuditLog({
    client: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    logGroupName: GROUP,
    clock: clock.now,
    ...(streamName === undefined ? {} : { logStreamName: streamName }),
  });
}

describe('CloudWatchAuditLog', () => {
  it('creates its log stream once, then writes each record as one canonical JSON line', async () => {
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
    const log = auditLog('broker/abc');
    const started = auditRecord('exec-1', 'started', clock.now());
    const completed = auditRecord('exec-1', 'completed', clock.now());
    await log.write(started);
    await log.write(completed);

    expect(logs).toReceiveCommandTimes(CreateLogStreamCommand, 1);
    expect(logs).toReceiveCommandWith(CreateLogStreamCommand, {
      logGroupName: GROUP,
      logStreamName: 'broker/abc',
    });
    expect(logs).toReceiveCommandTimes(PutLogEventsCommand, 2);
    expect(logs).toReceiveNthCommandWith(PutLogEventsCommand, 1, {
      logGroupName: GROUP,
      logStreamName: 'broker/abc',
      logEvents: [{ timestamp: clock.now().getTime(), message: canonicalJson(started) }],
    });
  });

  it('writes the line whose SHA-256 is the record hash stored in the table', async () => {
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
    const record = auditRecord('exec-2', 'denied', clock.now());
    await auditLog('s').write(record);

    const message = logs.commandCalls(PutLogEventsCommand)[0]?.args[0].input.logEvents?.[0]?.message ?? '';
    expect(sha256Hex(message)).toBe(sha256Hex(canonicalJson(record)));
    expect(JSON.parse(message)).toEqual(record);
  });

  it('names its stream by date and a random id when none is given', () => {
    expect(auditLog().logStreamName).toMatch(/^2026\/03\/10\/[0-9a-f-]{36}$/);
  });

  it('accepts a stream that already exists', async () => {
    logs
      .on(CreateLogStreamCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' }));
    logs.on(PutLogEventsCommand).resolves({});
    await auditLog('s').write(auditRecord('exec-3', 'denied', clock.now()));

    expect(logs).toReceiveCommandTimes(PutLogEventsCommand, 1);
  });

  it('surfaces a failed PutLogEvents as AuditWriteError naming the record and the group', async () => {
    logs.on(CreateLogStreamCommand).resolves({});
    logs
      .on(PutLogEventsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const error = await auditLog('s')
      .write(auditRecord('exec-4', 'started', clock.now()))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditWriteError);
    expect((error as Error).message).toMatch(
      /record exec-4\/started to \/custody\/audit\/s: ThrottlingException/,
    );
  });

  it('surfaces an event CloudWatch rejected', async () => {
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({ rejectedLogEventsInfo: { tooOldLogEventEndIndex: 1 } });

    await expect(auditLog('s').write(auditRecord('exec-5', 'denied', clock.now()))).rejects.toThrow(
      /rejected record exec-5\/denied.*tooOldLogEventEndIndex/,
    );
  });

  it('surfaces a stream that cannot be created, and tries again on the next write', async () => {
    logs
      .on(CreateLogStreamCommand)
      .rejectsOnce(Object.assign(new Error('no group'), { name: 'ResourceNotFoundException' }))
      .resolves({});
    logs.on(PutLogEventsCommand).resolves({});
    const log = auditLog('s');

    await expect(log.write(auditRecord('exec-6', 'denied', clock.now()))).rejects.toThrow(
      /could not create log stream s in \/custody\/audit/,
    );
    await log.write(auditRecord('exec-7', 'denied', clock.now()));
    expect(logs).toReceiveCommandTimes(CreateLogStreamCommand, 2);
    expect(logs).toReceiveCommandTimes(PutLogEventsCommand, 1);
  });

  it('creates the stream again if it was deleted', async () => {
    logs.on(CreateLogStreamCommand).resolves({});
    logs
      .on(PutLogEventsCommand)
      .rejectsOnce(Object.assign(new Error('stream gone'), { name: 'ResourceNotFoundException' }))
      .resolves({});
    await auditLog('s').write(auditRecord('exec-8', 'denied', clock.now()));

    expect(logs).toReceiveCommandTimes(CreateLogStreamCommand, 2);
    expect(logs).toReceiveCommandTimes(PutLogEventsCommand, 2);
  });

  describe('reading the digest anchors', () => {
    function signedDigest(sequence: number): SignedDigest {
      const body: DigestBody = {
        schemaVersion: 1,
        sequence,
        previousDigestSha256: sequence === 1 ? null : 'f'.repeat(64),
        periodStart: '2026-03-10T10:00:00.000Z',
        periodEnd: '2026-03-10T10:05:00.000Z',
        createdAt: '2026-03-10T10:06:00.000Z',
        keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k',
        signingAlgorithm: 'ECDSA_SHA_256',
        recordCount: 0,
        parts: [],
      };
      const bodyJson = canonicalJson(body);
      return { body, bodyJson, digestSha256: sha256Hex(bodyJson), signature: 'c2ln' };
    }
    const event = (message: string) => ({ logStreamName: 'digester/1', timestamp: 1, message });

    it('reads every page of digest lines with the digest filter pattern', async () => {
      const [d1, d2, d3] = [signedDigest(1), signedDigest(2), signedDigest(3)];
      logs
        .on(FilterLogEventsCommand, { nextToken: undefined })
        .resolves({ events: [event(digestLine(d1)), event(digestLine(d2))], nextToken: 'page-2' })
        .on(FilterLogEventsCommand, { nextToken: 'page-2' })
        .resolves({ events: [], nextToken: 'page-3' })
        .on(FilterLogEventsCommand, { nextToken: 'page-3' })
        .resolves({ events: [event(digestLine(d3))] });

      const anchors = await auditLog('s').readDigestAnchors();

      expect(anchors).toEqual(
        [1, 2, 3].map((n, i) => ({ sequence: n, digestSha256: [d1, d2, d3][i]?.digestSha256 })),
      );
      expect(logs).toReceiveCommandTimes(FilterLogEventsCommand, 3);
      expect(logs).toReceiveNthCommandWith(FilterLogEventsCommand, 1, {
        logGroupName: GROUP,
        filterPattern: '{ $.auditDigest.sequence > 0 }',
      });
      expect(logs).toReceiveNthCommandWith(FilterLogEventsCommand, 2, {
        logGroupName: GROUP,
        filterPattern: '{ $.auditDigest.sequence > 0 }',
        nextToken: 'page-2',
      });
      expect(logs).toReceiveNthCommandWith(FilterLogEventsCommand, 3, {
        logGroupName: GROUP,
        filterPattern: '{ $.auditDigest.sequence > 0 }',
        nextToken: 'page-3',
      });
    });

    it('skips lines that are not digests', async () => {
      const d1 = signedDigest(1);
      const verification = verificationLine(
        { ok: true, records: 0, digests: 0, scope: 'recent' },
        clock.now(),
      );
      logs.on(FilterLogEventsCommand).resolves({ events: [event(verification), event(digestLine(d1))] });

      expect(await auditLog('s').readDigestAnchors()).toEqual([
        { sequence: 1, digestSha256: d1.digestSha256 },
      ]);
    });

    it('refuses a digest line whose body was altered, naming the stream', async () => {
      const altered = digestLine(signedDigest(2)).replace('"recordCount":0', '"recordCount":7');
      logs.on(FilterLogEventsCommand).resolves({ events: [event(altered)] });

      const error = await auditLog('s')
        .readDigestAnchors()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(AuditReadError);
      expect((error as Error).message).toBe(
        `log group ${GROUP}, stream digester/1 at 1970-01-01T00:00:00.001Z: digest 2 does not hash to its digestSha256`,
      );
    });

    it('surfaces a FilterLogEvents failure as AuditReadError naming the group', async () => {
      logs
        .on(FilterLogEventsCommand)
        .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

      await expect(auditLog('s').readDigestAnchors()).rejects.toThrow(
        new AuditReadError(
          `could not read the digest lines of log group ${GROUP}: AccessDeniedException: denied`,
        ),
      );
    });
  });
});
