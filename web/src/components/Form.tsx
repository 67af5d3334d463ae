import { type ReactNode, useState } from "react";

/** A form the app validates through the API (no browser bubbles) and submits by script. */
export function Form({ onSubmit, children }: { onSubmit: (form: HTMLFormElement) => void; children: ReactNode }) {
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(e.currentTarget);
      }}
    >
      {children}
    </form>
  );
}

/** A submit's life: busy while `action` runs, then the error it ended with (or none). */
export function useSubmit(action: (data: FormData, form: HTMLFormElement) => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(form: HTMLFormElement) {
    setBusy(true);
    setError(null);
    try {
      await action(new FormData(form), form);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, submit };
}
