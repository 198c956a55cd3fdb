import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../lambda/audit/canonical-json.ts';
import { CloudWatchAuditLog } from '../../lambda/audit/cloudwatch-audit-log.ts';
import { AuditWriteError } from '../../lambda/audit/errors.ts';
import { auditRecord, ManualClock } from './records.ts';

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
});
