import { useNavigate } from "react-router";
import { useSubmit } from "../components/Form";
import { useReturnTo } from "./useReturnTo";

/** A sign-in form's submit: busy while it runs, the error to show, then back where the user was. */
export function useSessionForm(action: (form: FormData) => Promise<void>) {
  const navigate = useNavigate();
  const returnTo = useReturnTo();
  const { error, busy, submit } = useSubmit(async (data) => {
    await action(data);
    navigate(returnTo, { replace: true });
  });
  return { error, busy, returnTo, submit };
}
