/** A configuration problem (environment, key file): start-up stops with this message. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}
