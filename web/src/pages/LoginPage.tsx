import { Link, Navigate, useLocation } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { Form } from "../components/Form";
import { logIn } from "../session/actions";
import { useSession } from "../session/store";
import { useSessionForm } from "../session/useSessionForm";

export function LoginPage() {
  const session = useSession();
  const location = useLocation();
  // A finished password reset says so here.
  const status = (location.state as { status?: string } | null)?.status;
  const { error, busy, returnTo, submit } = useSessionForm((data) =>
    logIn(String(data.get("email") ?? ""), String(data.get("password") ?? "")),
  );

  if (session.status === "signedIn" && !busy) return <Navigate to={returnTo} replace />;

  return (
    <section className="narrow">
      <h1>Log in</h1>
      {status && <p role="status">{status}</p>}
      <Form onSubmit={submit}>
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <p className="aside">
          <Link to="/forgot-password">Forgot password?</Link>
        </p>
        {error !== null && <ErrorAlert error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </Form>
      <p>
        New here?{" "}
        <Link to="/register" state={location.state}>
          Create account
        </Link>
      </p>
    </section>
  );
}
