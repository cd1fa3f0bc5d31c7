// The error a request ends with, and the texts the screen shows for errors.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** The server refused a token a reset revoked (the message the services and the gateway send). */
export function isRevoked(message: string | undefined | null): boolean {
  return !!message && message.includes('revoked by a reset');
}

/** What a failed request or command says, for a form's error line. */
export function errorText(exc: unknown): string {
  return exc instanceof Error ? exc.message : String(exc);
}

/** A refused order: the server's message, naming the field when the message does not. */
export function orderErrorText(exc: unknown): string {
  if (!(exc instanceof ApiError)) return 'The order could not be sent';
  return exc.message + (exc.field && !exc.message.includes(exc.field) ? ` (${exc.field})` : '');
}

/** A refused cancel, for the open orders' error line. */
export function cancelErrorText(id: number, exc: unknown): string {
  return `Cancel #${id}: ${exc instanceof ApiError ? exc.message : 'failed'}`;
}
