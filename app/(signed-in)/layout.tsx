import { SignOutButton } from "@/app/components/sign-out-button";

/** Every authenticated page offers sign-out. */
export default function AuthenticatedLayout({ children }: { children: React.ReactNode }) {
  return (
    <>
      {children}
      <SignOutButton />
    </>
  );
}
