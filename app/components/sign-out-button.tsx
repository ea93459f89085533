import { signOutAction } from "@/app/actions/auth";

/** Sign-out, on every authenticated page. */
export function SignOutButton() {
  return (
    <form action={signOutAction} className="sign-out">
      <button type="submit">Sign out</button>
    </form>
  );
}
