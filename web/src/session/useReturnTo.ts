import { useLocation } from "react-router";

/** Where to go after signing in: the page that sent the user here, else the events. */
export function useReturnTo(): { pathname: string; search?: string } {
  const location = useLocation();
  const from = (location.state as { from?: { pathname?: string; search?: string } } | null)?.from;
  if (!from?.pathname || from.pathname === "/login" || from.pathname === "/register") return { pathname: "/events" };
  return { pathname: from.pathname, search: from.search };
}
