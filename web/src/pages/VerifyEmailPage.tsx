import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { verifyEmail } from "../session/actions";

/** One redemption per token, however often the page mounts (a token works once). */
const redemptions = new Map<string, Promise<void>>();

function redeem(token: string): Promise<void> {
  let pending = redemptions.get(token);
  if (!pending) {
    pending = verifyEmail(token);
    redemptions.set(token, pending);
  }
  return pending;
}

export default function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [state, setState] = useState<{ done: boolean; error: unknown }>({ done: false, error: null });

  useEffect(() => {
    let live = true;
    redeem(token).then(
      () => live && setState({ done: true, error: null }),
      (error: unknown) => live && setState({ done: true, error }),
    );
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <section className="narrow">
      <h1>Verify your email</h1>
      {!state.done && <Loading label="Verifying…" />}
      {state.done && state.error === null && <p role="status">Email verified</p>}
      {state.done && state.error !== null && <ErrorAlert error={state.error} />}
      <p>
        <Link to="/events">Browse events</Link>
      </p>
    </section>
  );
}
