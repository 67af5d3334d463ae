import { Navigate } from "react-router";
import { ApiError } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { Form } from "../components/Form";
import { PASSWORD_RULES } from "../components/passwordRules";
import { register } from "../session/actions";
import { useSession } from "../session/store";
import { useSessionForm } from "../session/useSessionForm";

export default function RegisterPage() {
  const session = useSession();
  const { error, busy, returnTo, submit } = useSessionForm((data) =>
    register(String(data.get("name") ?? ""), String(data.get("email") ?? ""), String(data.get("password") ?? "")),
  );
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  if (session.status === "signedIn" && !busy) return <Navigate to={returnTo} replace />;

  return (
    <section className="narrow">
      <h1>Create account</h1>
      <Form onSubmit={submit}>
        <Field label="Name" name="name" autoComplete="name" required maxLength={100} error={fieldErrors.name} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={fieldErrors.email} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint={`Password rules: ${PASSWORD_RULES}`}
          error={fieldErrors.password}
        />
        {error !== null && <ErrorAlert error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </button>
      </Form>
      <p>Already have an account? Use “Log in” at the top of the page.</p>
    </section>
  );
}
