import type { Metadata } from "next";
import { FinishSignUpForm } from "@/app/components/recovery-forms";

export const metadata: Metadata = { title: "Finish sign-up · Session or Token" };

/** Opened from the registration mail. GET only shows the form; the token (in the fragment) is used by its POST. */
export default function VerifyEmailPage() {
  return (
    <>
      <h1>Finish sign-up</h1>
      <FinishSignUpForm />
    </>
  );
}
