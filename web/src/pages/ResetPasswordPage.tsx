import { useNavigate, useSearchParams } from "react-router";
import { ApiError } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { Form, useSubmit } from "../components/Form";
import { PASSWORD_RULES } from "../components/passwordRules";
import { resetPassword } from "../session/actions";

export default function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const { error, busy, submit } = useSubmit(async (data) => {
    await resetPassword(token, String(data.get("password") ?? ""));
    navigate("/login", { replace: true, state: { status: "Password changed" } });
  });
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  return (
    <section className="narrow">
      <h1>Choose a new password</h1>
      <Form onSubmit={submit}>
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
      </Form>
    </section>
  );
}
