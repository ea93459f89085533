import type { Metadata } from "next";
import { ResetPasswordForm } from "@/app/components/recovery-forms";

export const metadata: Metadata = { title: "Set a new password · Session or Token" };

/** Opened from the reset mail. GET only shows the form; the token (in the fragment) is used by its POST. */
export default function ResetPasswordPage() {
  return (
    <>
      <h1>Set a new password</h1>
      <ResetPasswordForm />
    </>
  );
}
