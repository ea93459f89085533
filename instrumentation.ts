/**
 * Runs once when the server starts. Configuration problems (environment,
 * signing keys) stop start-up with a clear message, instead of surfacing as
 * errors on the first request.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  try {
    await import("./lib/platform/env");
    const { keyRing } = await import("./lib/tokens/keys");
    await keyRing();
  } catch (error) {
    console.error(`\nCannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
