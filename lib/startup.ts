import "server-only";

/**
 * Start-up check (called from instrumentation.ts): configuration problems
 * (environment, signing keys) stop the server with a clear message, instead
 * of surfacing as errors on the first request.
 */
export async function checkConfiguration(): Promise<void> {
  try {
    await import("./platform/env");
    const { keyRing } = await import("./tokens/keys");
    await keyRing();
  } catch (error) {
    console.error(`\nCannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
