import { useState } from "react";
import { Link } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { Form, useSubmit } from "../components/Form";
import { forgotPassword } from "../session/actions";

/** The same words whatever the address: the page never tells which addresses have accounts. */
const SENT = "If an account exists for that address, we sent a link.";

export default function ForgotPasswordPage() {
  const [sent, setSent] = useState(false);
  const { error, busy, submit } = useSubmit(async (data) => {
    await forgotPassword(String(data.get("email") ?? ""));
    setSent(true);
  });

  return (
    <section className="narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <p role="status">{SENT}</p>
      ) : (
        <Form onSubmit={submit}>
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          {error !== null && <ErrorAlert error={error} />}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Sending…" : "Send reset link"}
          </button>
        </Form>
      )}
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </section>
  );
}
