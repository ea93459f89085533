/** A configuration problem (environment, key file): start-up stops with this message. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/**
 * Redis (REDIS_URL) could not be reached or did not answer in time. Callers let
 * it propagate: the request fails closed (503, or the forms' generic message),
 * like when the database is down, and the details go to the log only.
 */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}
