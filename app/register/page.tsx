import { RegisterForm } from "@/app/components/auth-forms";
import { providerButtons } from "@/lib/auth/providers";
import { strategyOptions } from "@/lib/strategies";

export default function RegisterPage() {
  return (
    <>
      <h1>Create an account</h1>
      <RegisterForm options={strategyOptions()} providers={providerButtons()} />
    </>
  );
}
