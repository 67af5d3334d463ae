import { useState } from "react";
import { useLocation } from "react-router";
import { resendVerification } from "../session/actions";
import { useUser } from "../session/store";
import { ErrorAlert } from "./ErrorAlert";

/** Tells a signed-in user whose address is not verified, with a way to get a new link. */
export function VerifyNotice() {
  const user = useUser();
  const { pathname } = useLocation();
  const [state, setState] = useState<"idle" | "sending" | "sent">("idle");
  const [error, setError] = useState<unknown>(null);
  if (!user || user.emailVerified || pathname === "/verify-email") return null;

  async function resend() {
    setState("sending");
    setError(null);
    try {
      await resendVerification();
      setState("sent");
    } catch (e) {
      setError(e);
      setState("idle");
    }
  }

  return (
    <aside className="notice verify-notice" aria-label="Email verification">
      <p>
        Please verify your email
        {state === "sent" ? ` — we sent a new link to ${user.email}.` : ` (${user.email}).`}
      </p>
      {state !== "sent" && (
        <button type="button" onClick={resend} disabled={state === "sending"}>
          {state === "sending" ? "Sending…" : "Resend"}
        </button>
      )}
      {error !== null && <ErrorAlert error={error} />}
    </aside>
  );
}
