import type { Metadata } from "next";
import Link from "next/link";
import { ChangePasswordForm } from "@/app/components/password-form";
import { requireSession } from "@/lib/auth/guards";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "@/lib/users/policy";

export const metadata: Metadata = { title: "Security · Session or Token" };

export default async function SecurityPage() {
  const session = await requireSession("/dashboard/security");
  return (
    <>
      <p>
        <Link href="/dashboard">← Dashboard</Link>
      </p>
      <h1>Security</h1>
      <h2>Change password</h2>
      <p>
        Enter your current password and a new one ({PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, any characters
        you like). Changing it signs out every other browser and API client of your account; this one stays signed in.
      </p>
      <ChangePasswordForm email={session.user.email} />
      <p>
        See where you are signed in: <Link href="/dashboard/sessions">Active sessions</Link>.
      </p>
    </>
  );
}
