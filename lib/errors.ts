/**
 * Typed errors with a public face: `publicMessage` is all a client ever sees;
 * everything else (cause, details) is for the server log.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly publicMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${publicMessage}`, options);
    this.name = "AppError";
  }
}

export class UnauthorizedError extends AppError {
  constructor() {
    super("unauthorized", 401, "unauthorized");
  }
}

export class ValidationError extends AppError {
  constructor(publicMessage: string) {
    super("invalid_request", 400, publicMessage);
  }
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}
