import type { Metadata } from "next";
import Link from "next/link";
import { confirmWithProviderAction } from "@/app/actions/step-up";
import { ConfirmIdentityForm } from "@/app/components/confirm-form";
import { FormMessage } from "@/app/components/form-fields";
import { ProviderFlowButton } from "@/app/components/provider-controls";
import { requireSession } from "@/lib/auth/guards";
import { CONFIRM_PATH, canConfirmWithPassword, confirmationProviders, stepUpWindowSeconds } from "@/lib/auth/step-up";
import { safeRedirectPath } from "@/lib/security/redirect";
import { durationInWords } from "@/lib/sessions/revocation";

export const metadata: Metadata = { title: "Confirm it's you · Session or Token" };

/** Why a confirmation through the provider came back without confirming (`?providerError=`). */
function providerError(code: unknown): string | undefined {
  if (code === "not_linked") return "That provider account is not the one connected to your account, so nothing was confirmed.";
  if (code === "not_fresh") return "The provider did not confirm a new sign-in, so nothing was confirmed. Please try again.";
  return undefined;
}

export default async function ConfirmPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { returnTo, providerError: code } = await searchParams;
  const target = safeRedirectPath(typeof returnTo === "string" ? returnTo : undefined);
  const session = await requireSession(`${CONFIRM_PATH}?returnTo=${encodeURIComponent(target)}`);
  const [withPassword, providers] = await Promise.all([canConfirmWithPassword(session), confirmationProviders(session.user.id)]);
  const error = providerError(code);
  return (
    <>
      <p>
        <Link href={target}>← Back</Link>
      </p>
      <h1>Confirm it&apos;s you</h1>
      <p>
        Changing or setting your password, connecting or disconnecting a sign-in provider, signing out your other sessions,
        creating API tokens and the admin tools need a sign-in from the last {durationInWords(stepUpWindowSeconds())}.
        Confirm with your password or through a provider connected to your account; you will be taken back.
      </p>
      <FormMessage error={error} />
      {withPassword && <ConfirmIdentityForm email={session.user.email} returnTo={target} />}
      {providers.map((provider) => (
        <ProviderFlowButton key={provider.id} action={confirmWithProviderAction} provider={provider.id} text={`Confirm with ${provider.name}`} fields={{ returnTo: target }} />
      ))}
      {!withPassword && providers.length === 0 && (
        <p role="status">
          This account has no password and no connected provider that can confirm it&apos;s you: sign out, then sign in again.
        </p>
      )}
    </>
  );
}
