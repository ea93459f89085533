import type { Metadata } from "next";
import Link from "next/link";
import { connectProviderAction, disconnectProviderAction } from "@/app/actions/account";
import { FormMessage } from "@/app/components/form-fields";
import { ChangePasswordForm, SetPasswordForm } from "@/app/components/password-form";
import { ProviderFlowButton } from "@/app/components/provider-controls";
import { UtcTime } from "@/app/components/session-cells";
import { RevokeButton } from "@/app/components/session-controls";
import { AccountTable } from "@/app/components/account-table";
import { connectedProviders, type ConnectedProvider } from "@/lib/account/provider-accounts";
import { requireSession } from "@/lib/auth/guards";
import { SECURITY_PATH } from "@/lib/auth/provider-signin";
import { providerButtons, providerName } from "@/lib/auth/providers";
import { canConfirmWithPassword } from "@/lib/auth/step-up";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "@/lib/users/policy";

export const metadata: Metadata = { title: "Security · Session or Token" };

type Search = Record<string, string | string[] | undefined>;

/**
 * What the last action did (`?done=`), in words. "Connected" and "password set" are said only while true
 * of the account; "disconnected" names a configured provider at most, never text from the URL.
 */
function outcomeNotice(search: Search, providers: ConnectedProvider[], hasPassword: boolean): string | undefined {
  const provider = typeof search.provider === "string" ? search.provider : "";
  switch (search.done) {
    case "connected":
      if (!providers.some((entry) => entry.providerId === provider)) return undefined;
      return `${providerName(provider)} is connected to your account: you can sign in with it from now on.`;
    case "disconnected":
      return `${provider ? providerName(provider) : "The provider"} was disconnected.`;
    case "password_set":
      return hasPassword ? "Password set. You can now sign in with your email address and this password." : undefined;
    default:
      return undefined;
  }
}

function providerError(code: unknown): string | undefined {
  if (code === "identity_in_use") return "That provider identity already signs in to another account, so it was not connected.";
  return undefined;
}

export default async function SecurityPage({ searchParams }: { searchParams: Promise<Search> }) {
  const session = await requireSession(SECURITY_PATH);
  const search = await searchParams;
  const [providers, hasPassword] = await Promise.all([connectedProviders(session.user.id), canConfirmWithPassword(session)]);
  const notice = outcomeNotice(search, providers, hasPassword);
  const error = providerError(search.providerError);
  const configured = providerButtons();
  return (
    <>
      <p>
        <Link href="/dashboard">← Dashboard</Link>
      </p>
      <h1>Security</h1>
      <FormMessage error={error} status={notice} />
      {hasPassword ? (
        <>
          <h2>Change password</h2>
          <p>
            Enter your current password and a new one ({PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, any
            characters you like). Changing it signs out every other browser and API client of your account; this one stays
            signed in.
          </p>
          <ChangePasswordForm email={session.user.email} />
        </>
      ) : (
        <>
          <h2>Set a password</h2>
          <p>
            Your account signs in through a provider only. Set a password ({PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH}{" "}
            characters) to sign in with your email address too. It needs a recent sign-in.
          </p>
          <SetPasswordForm email={session.user.email} />
        </>
      )}
      <section className="card" aria-labelledby="providers-heading">
        <h2 id="providers-heading">Sign-in providers</h2>
        {providers.length === 0 ? (
          <p>No provider is connected to your account.</p>
        ) : (
          <AccountTable labelledBy="providers-heading" testId="providers-table" columns={["Provider", "Issuer", "Subject", "Connected"]} actions>
            {providers.map((provider) => (
              <tr key={provider.id}>
                <td>{provider.name}</td>
                <td>
                  <code>{provider.issuer}</code>
                </td>
                <td>
                  <code>{provider.subject}</code>
                </td>
                <td>
                  <UtcTime date={provider.connectedAt} />
                </td>
                <td>
                  <RevokeButton
                    action={disconnectProviderAction}
                    field="accountId"
                    value={provider.id}
                    label={`Disconnect ${provider.name} (${provider.subject})`}
                    text="Disconnect"
                  />
                </td>
              </tr>
            ))}
          </AccountTable>
        )}
        <p>
          Connecting or disconnecting a provider needs a recent sign-in. A provider cannot be disconnected while it is the
          only way into your account (no password and no other provider).
        </p>
        {configured.map((provider) => (
          <ProviderFlowButton key={provider.id} action={connectProviderAction} provider={provider.id} text={`Connect ${provider.name}`} />
        ))}
      </section>
      <p>
        See where you are signed in: <Link href="/dashboard/sessions">Active sessions</Link>.
      </p>
    </>
  );
}
