/** Runs once when the server starts (see lib/startup.ts). */
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkConfiguration } = await import("./lib/startup");
    await checkConfiguration();
    // REVOCATION_MODE=pushed: listen and load the revoked sessions before serving
    // (until that succeeds, every request reads the store, as in strict mode).
    const { startRevocationFeed } = await import("./lib/sessions/feed");
    await startRevocationFeed();
    // Without SMTP_URL, mail goes to an SMTP catcher in this process (127.0.0.1 only; see /dev/mailbox).
    const { startMailCatcher } = await import("./lib/mail/catcher");
    await startMailCatcher();
  }
}
