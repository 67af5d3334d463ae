import { useState } from "react";
import { useNavigate } from "react-router";
import { useReturnTo } from "./useReturnTo";

/** A sign-in form's submit: busy while it runs, the error to show, then back where the user was. */
export function useSessionForm(action: (form: FormData) => Promise<void>) {
  const navigate = useNavigate();
  const returnTo = useReturnTo();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(form: HTMLFormElement) {
    setBusy(true);
    setError(null);
    try {
      await action(new FormData(form));
      navigate(returnTo, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, returnTo, submit };
}
