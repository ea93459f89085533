import { signOutAction } from "@/app/actions/auth";

/** Sign-out: a form posting the server action (works before hydration too); the header shows it on every page while signed in. */
export function SignOutButton() {
  return (
    <form action={signOutAction} className="sign-out">
      <button type="submit">Sign out</button>
    </form>
  );
}
