/**
 * What the CLI's AWS commands (`custody audit verify`, `revoke`, `reinstate`) share when they talk
 * to a deployed stack: the region to use and the SDK clients to destroy when the command is done.
 */
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';

/** `--region`, else AWS_REGION / AWS_DEFAULT_REGION; a usage error when none is set. */
export function regionOf(io: CliIo, flag: string | undefined): string {
  const region = flag ?? (io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION);
  if (!region) throw new UsageError('--region is required on AWS (or set AWS_REGION)');
  return region;
}

export interface ClientSet {
  /** Remembers the client for close() and returns it. */
  track<T extends { destroy(): void }>(client: T): T;
  /** Destroys every tracked client (their sockets would otherwise keep the process alive). */
  close(): void;
}

export function clientSet(): ClientSet {
  const clients: { destroy(): void }[] = [];
  return {
    track(client) {
      clients.push(client);
      return client;
    },
    close() {
      for (const c of clients) c.destroy();
    },
  };
}
