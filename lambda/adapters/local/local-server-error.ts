/** Thrown when the local server cannot start: its data directory or port is taken, or a listen failed. */
export class LocalServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalServerError';
  }
}
