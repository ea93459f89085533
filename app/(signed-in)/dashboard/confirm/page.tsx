import type { Metadata } from "next";
import Link from "next/link";
import { ConfirmIdentityForm } from "@/app/components/confirm-form";
import { requireSession } from "@/lib/auth/guards";
import { CONFIRM_PATH, canConfirmWithPassword, stepUpWindowSeconds } from "@/lib/auth/step-up";
import { safeRedirectPath } from "@/lib/security/redirect";
import { durationInWords } from "@/lib/sessions/revocation";

export const metadata: Metadata = { title: "Confirm it's you · Session or Token" };

export default async function ConfirmPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { returnTo } = await searchParams;
  const target = safeRedirectPath(typeof returnTo === "string" ? returnTo : undefined);
  const session = await requireSession(`${CONFIRM_PATH}?returnTo=${encodeURIComponent(target)}`);
  const withPassword = await canConfirmWithPassword(session);
  return (
    <>
      <p>
        <Link href={target}>← Back</Link>
      </p>
      <h1>Confirm it&apos;s you</h1>
      <p>
        Changing your password, signing out your other sessions, creating API tokens and the admin tools need a sign-in from
        the last {durationInWords(stepUpWindowSeconds())}. Enter your password to continue; you will be taken back.
      </p>
      {withPassword ? (
        <ConfirmIdentityForm email={session.user.email} returnTo={target} />
      ) : (
        <p role="status">
          This account has no password. Confirming through your sign-in provider is not available yet: sign out, then sign in
          again with the provider.
        </p>
      )}
    </>
  );
}
