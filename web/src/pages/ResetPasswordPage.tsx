import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { PASSWORD_RULES } from "../components/passwordRules";
import { resetPassword } from "../session/actions";

export default function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  async function submit(form: HTMLFormElement) {
    setBusy(true);
    setError(null);
    try {
      await resetPassword(token, String(new FormData(form).get("password") ?? ""));
      navigate("/login", { replace: true, state: { status: "Password changed" } });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <h1>Choose a new password</h1>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit(e.currentTarget);
        }}
      >
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint={`Password rules: ${PASSWORD_RULES}`}
          error={fieldErrors.password}
        />
        {error !== null && <ErrorAlert error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Setting password…" : "Set password"}
        </button>
      </form>
    </section>
  );
}
