import { useState } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { logIn } from "../session/actions";
import { useSession } from "../session/store";
import { useReturnTo } from "../session/useReturnTo";

export function LoginPage() {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const returnTo = useReturnTo();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (session.status === "signedIn" && !busy) return <Navigate to={returnTo} replace />;

  async function onSubmit(form: HTMLFormElement) {
    const data = new FormData(form);
    setBusy(true);
    setError(null);
    try {
      await logIn(String(data.get("email") ?? ""), String(data.get("password") ?? ""));
      navigate(returnTo, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <h1>Log in</h1>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void onSubmit(e.currentTarget);
        }}
      >
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        {error !== null && <ErrorAlert error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
      <p>
        New here?{" "}
        <Link to="/register" state={location.state}>
          Create account
        </Link>
      </p>
    </section>
  );
}
