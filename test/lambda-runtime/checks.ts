/**
 * What the Lambda-like test asserts: a list of named checks, each passed or failed with what was
 * seen, so one run reports every problem at once and the process exits non-zero on any failure.
 */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export class Checks {
  readonly results: CheckResult[] = [];

  /** Records a check; `detail` says what was seen (printed on failure). */
  check(name: string, ok: boolean, detail: unknown): boolean {
    const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
    this.results.push({ name, ok, detail: text });
    process.stdout.write(
      `${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `\n     saw: ${text.slice(0, 2000)}`}\n`,
    );
    return ok;
  }

  /** Runs a step; an exception fails it with its message instead of stopping the run. */
  async step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.check(name, false, error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
  }

  get failed(): number {
    return this.results.filter((r) => !r.ok).length;
  }
}
