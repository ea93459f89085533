import type { Metadata } from "next";
import { ForgotPasswordForm } from "@/app/components/recovery-forms";
import { env } from "@/lib/platform/env";
import { durationInWords } from "@/lib/sessions/revocation";

export const metadata: Metadata = { title: "Forgot password · Session or Token" };

export default function ForgotPasswordPage() {
  return (
    <>
      <h1>Forgot password</h1>
      <p>
        Enter the address of your account. If it has one, we mail it a link that sets a new password; the link works once and
        expires in {durationInWords(env.PASSWORD_RESET_TTL_SECONDS)}.
      </p>
      <ForgotPasswordForm />
    </>
  );
}
