import "server-only";

/**
 * Configuration problems (environment, signing keys) stop start-up with a
 * clear message, instead of surfacing as errors on the first request.
 */
export async function checkConfiguration(): Promise<void> {
  try {
    await import("./env");
    const { keyRing } = await import("./keys");
    await keyRing();
  } catch (error) {
    console.error(`\nCannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
