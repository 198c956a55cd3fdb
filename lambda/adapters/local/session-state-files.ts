/**
 * The sessions' sealed state in local mode (S3's role on AWS): `<dir>/<sessionId>/state`, in
 * owner-only folders and files (`.custody/sessions/` under the data directory). A read or write
 * is authorised as the execution role's policy authorises it on AWS: the credentials must be a live
 * role session issued by the local credentials port, tagged with this very session's id.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyError } from '../../core/errors.ts';
import type { AssumedSession } from '../../core/ports.ts';
import { SESSION_ID, type SessionStateStore, TAG_SESSION_ID } from '../../core/session.ts';
import { type LocalCredentialsPort, sessionProblem } from './credentials.ts';

export class FileSessionStateStore implements SessionStateStore {
  constructor(
    /** `.custody/sessions` */
    private readonly dir: string,
    private readonly credentials: LocalCredentialsPort,
  ) {}

  private folder(sessionId: string): string {
    if (!SESSION_ID.test(sessionId)) throw new DependencyError('sessions', 'not a session id');
    return join(this.dir, sessionId);
  }

  /** Refuses a role session that is not live, or not tagged with this session's id. */
  private async authorize(session: AssumedSession, sessionId: string): Promise<void> {
    const check = await this.credentials.authorize(session.credentials);
    if (!check.ok) {
      throw new DependencyError('sessions', `session state refused: ${sessionProblem(check)}`);
    }
    if (check.session.tags[TAG_SESSION_ID] !== sessionId) {
      throw new DependencyError(
        'sessions',
        `session state refused: role session ${check.session.assumedRoleArn} is not tagged with session ${sessionId}`,
      );
    }
  }

  async read(session: AssumedSession, sessionId: string): Promise<Uint8Array | undefined> {
    const folder = this.folder(sessionId);
    await this.authorize(session, sessionId);
    try {
      return new Uint8Array(readFileSync(join(folder, 'state')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(session: AssumedSession, sessionId: string, sealed: Uint8Array): Promise<void> {
    const folder = this.folder(sessionId);
    await this.authorize(session, sessionId);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    // Temp file and rename: a reader never sees half a state.
    const file = join(folder, 'state');
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, sealed, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, file);
  }

  async delete(sessionId: string): Promise<void> {
    rmSync(this.folder(sessionId), { recursive: true, force: true });
  }
}
