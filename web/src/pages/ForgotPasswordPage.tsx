import { useState } from "react";
import { Link } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { forgotPassword } from "../session/actions";

/** The same words whatever the address: the page never tells which addresses have accounts. */
const SENT = "If an account exists for that address, we sent a link.";

export default function ForgotPasswordPage() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);

  async function submit(form: HTMLFormElement) {
    setBusy(true);
    setError(null);
    try {
      await forgotPassword(String(new FormData(form).get("email") ?? ""));
      setSent(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <p role="status">{SENT}</p>
      ) : (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit(e.currentTarget);
          }}
        >
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          {error !== null && <ErrorAlert error={error} />}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Sending…" : "Send reset link"}
          </button>
        </form>
      )}
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </section>
  );
}
