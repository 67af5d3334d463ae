import { useState } from "react";
import { ApiError } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { Form, useSubmit } from "../components/Form";
import { PASSWORD_RULES } from "../components/passwordRules";
import { changePassword } from "../session/actions";
import { useUser } from "../session/store";

export default function AccountPage() {
  const user = useUser();
  const [changed, setChanged] = useState(false);
  const { error, busy, submit } = useSubmit(async (data, form) => {
    setChanged(false);
    await changePassword(String(data.get("currentPassword") ?? ""), String(data.get("newPassword") ?? ""));
    form.reset();
    setChanged(true);
  });
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  if (!user) return null;

  return (
    <section className="narrow">
      <h1>Your account</h1>
      <dl className="account">
        <dt>Name</dt>
        <dd>{user.name}</dd>
        <dt>Email</dt>
        <dd>
          {user.email} <span className="badge">{user.emailVerified ? "verified" : "not verified"}</span>
        </dd>
      </dl>
      <h2>Change password</h2>
      <Form onSubmit={submit}>
        <Field
          label="Current password"
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          required
          error={fieldErrors.currentPassword}
        />
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          required
          hint={`Password rules: ${PASSWORD_RULES}`}
          error={fieldErrors.newPassword}
        />
        {error !== null && <ErrorAlert error={error} />}
        {changed && <p role="status">Password changed. You were logged out everywhere else.</p>}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Changing password…" : "Change password"}
        </button>
      </Form>
    </section>
  );
}
