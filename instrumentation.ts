/** Runs once when the server starts (see lib/startup.ts). */
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkConfiguration } = await import("./lib/startup");
    await checkConfiguration();
    // Without SMTP_URL, mail goes to an SMTP catcher in this process (127.0.0.1 only; see /dev/mailbox).
    const { startMailCatcher } = await import("./lib/mail/catcher");
    await startMailCatcher();
  }
}
